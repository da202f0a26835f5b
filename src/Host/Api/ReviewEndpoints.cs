using Akka.Hosting;

namespace DarkFactory.Host.Api;

/// <summary>
/// /api/reviews: the compound reviews (steps with timings, gate results, PR link or dry-run report).
/// GET lists them (newest first), POST starts one now, GET /api/reviews/{id} shows one.
/// </summary>
public static class ReviewEndpoints
{
    public static void MapReviewEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/reviews", async (int? limit, FactoryClient f, CancellationToken ct) =>
            Json((await Ask<ReviewsSnapshot>(f, new GetReviews(Math.Clamp(limit ?? 50, 1, 500)), ct)).Reviews))
            .WithSummary("Compound reviews, newest first (limit 1..500): steps with timings, gate results, PR link or report")
            .Produces<List<ReviewView>>();
        api.MapPost("/reviews", async (FactoryClient f, CancellationToken ct) =>
        {
            var accepted = await Ask<ReviewAccepted>(f, new RunReview(ReviewTrigger.Manual), ct);
            if (!accepted.Ok)
            {
                return Problem(409, "review not started", accepted.Message, accepted.ReviewId);
            }

            var found = await Ask<ReviewFound>(f, new GetReview(accepted.ReviewId!), ct);
            return Results.Json(found.Review, DarkFactoryJson.Options, statusCode: 202);
        }).WithSummary("Start a compound review now (409 while one runs); without compound_review.agent the router picks the agent")
            .Produces<ReviewView>(202).ProducesProblem(409);
        api.MapGet("/reviews/{id}", async (string id, FactoryClient f, CancellationToken ct) =>
        {
            var found = await Ask<ReviewFound>(f, new GetReview(id), ct);
            return found.Review is null ? Problem(404, "unknown review", $"id: no review with id '{id}' (see GET /api/reviews)") : Json(found.Review);
        }).WithSummary("One compound review").Produces<ReviewView>().ProducesProblem(404);
    }

    private static Task<T> Ask<T>(FactoryClient factory, object message, CancellationToken ct) => factory.Ask<T>(message, factory.Options.ReviewAskTimeout, ct);

    private static IResult Json(object? value) => Results.Json(value, DarkFactoryJson.Options);

    private static IResult Problem(int status, string title, string detail, string? reviewId = null) =>
        Results.Json(new { type = "about:blank", title, status, detail, review_id = reviewId }, DarkFactoryJson.Options, "application/problem+json", status);
}
