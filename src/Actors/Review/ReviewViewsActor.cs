namespace DarkFactory.Actors.Review;

/// <summary>
/// The read model of the compound reviews at /user/factory/compound-review-views: it answers
/// <see cref="GetReviews"/> and <see cref="GetReview"/> from the views the <see cref="CompoundReviewActor"/> sends
/// after each persisted event (<see cref="ReviewViewsChanged"/>). Its mailbox is its own, so `df review
/// list|show` and /api/reviews never wait behind the review actor's journal writes (which stash its commands).
/// Until the review actor has recovered (the first reset), queries are stashed, so a review that is in the
/// journal is never reported unknown right after a restart.
/// </summary>
public sealed class ReviewViewsActor : ReceiveActor, IWithStash
{
    private readonly Dictionary<string, ReviewView> _views = new(StringComparer.Ordinal);
    private readonly List<string> _order = []; // oldest first

    public ReviewViewsActor()
    {
        Receive<ReviewViewsChanged>(m =>
        {
            OnChanged(m);
            if (m.Reset)
            {
                Become(Ready);
                Stash.UnstashAll();
            }
        });
        Receive<GetReviews>(_ => Stash.Stash());
        Receive<GetReview>(_ => Stash.Stash());
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props() => Akka.Actor.Props.Create<ReviewViewsActor>();

    private void Ready()
    {
        Receive<ReviewViewsChanged>(OnChanged);
        Receive<GetReviews>(q => Sender.Tell(new ReviewsSnapshot(_order.AsEnumerable().Reverse().Take(Math.Max(1, q.Limit)).Select(id => _views[id]).ToList())));
        Receive<GetReview>(q => Sender.Tell(new ReviewFound(q.ReviewId, _views.GetValueOrDefault(q.ReviewId))));
    }

    private void OnChanged(ReviewViewsChanged m)
    {
        if (m.Reset)
        {
            _views.Clear();
            _order.Clear();
        }

        foreach (var id in m.Removed)
        {
            if (_views.Remove(id))
            {
                _order.Remove(id);
            }
        }

        foreach (var view in m.Changed)
        {
            if (!_views.ContainsKey(view.Id))
            {
                _order.Add(view.Id);
            }

            _views[view.Id] = view;
        }
    }
}
