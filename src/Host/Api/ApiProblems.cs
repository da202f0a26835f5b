using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace DarkFactory.Host.Api;

/// <summary>
/// Problem details (RFC 7807) for every error of the API, and the guard that keeps a failing request
/// from ever taking the daemon down: an exception becomes a problem answer (400 for a request that could
/// not be read, naming the parameter; 503 when an actor did not answer in time, or a cluster singleton is moving
/// (with Retry-After); 500 otherwise).
/// </summary>
public static partial class ApiProblems
{
    /// <summary>A problem answer; its detail never names the daemon's own .NET types (they mean nothing to a client).</summary>
    public static IResult Problem(int status, string title, string detail) =>
        Results.Json(new { type = "about:blank", title, status, detail = Scrub(detail) }, DarkFactoryJson.Options, "application/problem+json", status);

    /// <summary>Removes .NET type names from a message meant for a client: <c>"Nullable&lt;int&gt; limit"</c> → <c>'limit'</c>, <c>DarkFactory.X.Y</c> → <c>the expected value</c>.</summary>
    public static string Scrub(string detail) =>
        QualifiedType().Replace(TypedParameter().Replace(detail, "'$1'"), "the expected value");

    /// <summary>A JSON body that could not be read: where, never which .NET type it was meant for.</summary>
    public static string JsonProblem(System.Text.Json.JsonException e) =>
        "the request body is not valid JSON for this request"
        + (e.Path is { Length: > 0 } path ? $" at {path}" : string.Empty)
        + (e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : string.Empty);

    [GeneratedRegex(@"""(?:[\w.`]+(?:<[^""]*>|\[[^""\]]*\])?\??(?:\[\])? )(\w+)""", RegexOptions.CultureInvariant)]
    private static partial Regex TypedParameter();

    [GeneratedRegex(@"\b(?:DarkFactory|System|Microsoft|Akka)(?:\.[A-Za-z0-9_`+]+)+(?:\[[^\]]*\])?", RegexOptions.CultureInvariant)]
    private static partial Regex QualifiedType();

    /// <summary>
    /// Bodies the API reads: at most <c>darkfactory.max-request-size</c> bytes (413 naming the key) and JSON
    /// (a body of another or no content type: 415). A request without a body passes whatever its headers say.
    /// </summary>
    public static async Task Bodies(HttpContext context, Func<Task> next)
    {
        var request = context.Request;
        var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if (!hasBody || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            await next();
            return;
        }

        var limit = context.RequestServices.GetRequiredService<DarkFactoryOptions>().MaxRequestBytes;
        if (request.ContentLength > limit)
        {
            await TooLarge(request.ContentLength.Value, limit).ExecuteAsync(context);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit; // a chunked body is cut off at the limit as it is read
        }

        if (!IsJson(request.ContentType))
        {
            var given = string.IsNullOrWhiteSpace(request.ContentType) ? "no Content-Type" : $"Content-Type '{request.ContentType}'";
            await Problem(415, "unsupported media type", $"the request body has {given}: send it as application/json").ExecuteAsync(context);
            return;
        }

        await next();
    }

    private static IResult TooLarge(long size, long limit) =>
        Problem(413, "request too large", $"the request body is {(size > 0 ? $"{size} bytes" : "larger than that")}, over the limit of {limit} bytes (darkfactory.max-request-size)");

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var type)
        && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.MediaType.Equals("text/json", StringComparison.OrdinalIgnoreCase)
            || type.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

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
                BadHttpRequestException { StatusCode: 413 } => (413, "request too large", $"the request body is over the limit of {context.RequestServices.GetRequiredService<DarkFactoryOptions>().MaxRequestBytes} bytes (darkfactory.max-request-size)"),
                BadHttpRequestException bad => (bad.StatusCode, "bad request", bad.Message),
                System.Text.Json.JsonException json => (400, "bad request", JsonProblem(json)),
                InvalidOperationException when !HttpMethods.IsGet(context.Request.Method) && !context.Request.HasJsonContentType() =>
                    (400, "bad request", "this request needs a JSON body (Content-Type: application/json)"), // an endpoint read a body that is not there
                AskTimeoutException => (503, "busy", "the daemon did not answer in time; try again"),
                SingletonUnavailableException gone => (503, "singleton moving", gone.Message),
                _ => (500, "internal error", "the request failed; the daemon's log has the details"),
            };
            if (status >= 500)
            {
                context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("DarkFactory.Api")
                    .LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            }

            context.Response.Clear();
            if (e is SingletonUnavailableException moving)
            {
                context.Response.Headers.RetryAfter = moving.Unavailable.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

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
