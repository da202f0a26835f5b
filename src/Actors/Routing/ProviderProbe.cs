namespace DarkFactory.Actors.Routing;

/// <summary>
/// The router's cheap probe of a limited provider while agents wait for a route: an HTTP GET of the provider's
/// base_url with a short timeout. True when it answers again (anything but 429 or 5xx), false when still limited
/// or unreachable, null when it cannot tell (no base_url).
/// </summary>
public static class ProviderProbe
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(2) };

    public static async Task<bool?> GetAsync(ProviderSpec provider, CancellationToken ct)
    {
        if (provider.BaseUrl is null)
        {
            return null;
        }

        try
        {
            using var response = await Client.GetAsync(provider.BaseUrl, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            return code != 429 && code < 500;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
