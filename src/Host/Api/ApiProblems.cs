using Akka.Actor;
using DarkFactory.Messages;

namespace DarkFactory.Host.Api;

/// <summary>
/// Problem details (RFC 7807) for every error of the API, and the guard that keeps a failing request
/// from ever taking the daemon down: an exception becomes a problem answer (400 for a request that could
/// not be read, naming the parameter; 503 when an actor did not answer in time; 500 otherwise).
/// </summary>
public static class ApiProblems
{
    public static IResult Problem(int status, string title, string detail) =>
        Results.Json(new { type = "about:blank", title, status, detail }, DarkFactoryJson.Options, "application/problem+json", status);

    public static async Task Guard(HttpContext context, Func<Task> next)
    {
        try
        {
            await next();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client went away
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, title, detail) = e switch
            {
                BadHttpRequestException bad => (bad.StatusCode, "bad request", bad.Message),
                System.Text.Json.JsonException json => (400, "bad request", "the request body is not valid JSON: " + json.Message),
                AskTimeoutException => (503, "busy", "the daemon did not answer in time; try again"),
                _ => (500, "internal error", "the request failed: " + e.GetType().Name),
            };
            if (status >= 500)
            {
                context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("DarkFactory.Api")
                    .LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            }

            context.Response.Clear();
            await Problem(status, title, detail).ExecuteAsync(context);
        }
        catch (Exception e)
        {
            // the answer has started: nothing to send but the end of it
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("DarkFactory.Api")
                .LogWarning("{Method} {Path} failed after the answer started: {Error}", context.Request.Method, context.Request.Path, e.Message);
        }
    }
}
