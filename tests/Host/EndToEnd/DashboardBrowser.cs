using Microsoft.Playwright;

namespace DarkFactory.Host.Tests.EndToEnd;

/// <summary>
/// Debian's headless chromium driven by Playwright, in a profile of its own, collecting the page's errors; on dispose
/// it keeps a screenshot in TestResults/<c>screenshot</c> and removes the profile.
/// </summary>
internal sealed class DashboardBrowser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowserContext _context;
    private readonly string _profile;
    private readonly string _screenshot;

    private DashboardBrowser(IPlaywright playwright, IBrowserContext context, IPage page, string profile, string screenshot)
    {
        _playwright = playwright;
        _context = context;
        Page = page;
        _profile = profile;
        _screenshot = screenshot;
        page.PageError += (_, e) => Errors.Add(e);
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                Errors.Add(m.Text);
            }
        };
    }

    public IPage Page { get; }

    /// <summary>Uncaught page errors and console errors, in order.</summary>
    public List<string> Errors { get; } = [];

    public static async Task<DashboardBrowser> LaunchAsync(string screenshot)
    {
        var playwright = await Playwright.CreateAsync();
        var profile = Directory.CreateTempSubdirectory("df-chromium-").FullName;
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumFactAttribute.Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        return new DashboardBrowser(playwright, context, page, profile, screenshot);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            var results = Path.Combine(DaemonProcess.RepoRoot(), "TestResults");
            Directory.CreateDirectory(results);
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(results, _screenshot), FullPage = true });
        }
        finally
        {
            await _context.DisposeAsync();
            _playwright.Dispose();
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
