using DarkFactory.Actors.Control;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DarkFactory.Host.Daemon;

/// <summary>
/// Metrics, traces, logs and the OpenAPI document of the daemon: OpenTelemetry metrics from the
/// <c>DarkFactory</c> meter, exported for Prometheus at /metrics (token required like the rest of the
/// API); traces from the <c>DarkFactory</c> activity source (exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set); JSON logs with <c>--log-format json</c> or <c>DF_LOG_FORMAT=json</c>;
/// the OpenAPI document at /openapi/v1.json.
/// </summary>
public static class Observability
{
    public static void AddDarkFactoryObservability(this WebApplicationBuilder builder, FleetTelemetry telemetry)
    {
        builder.Services.AddSingleton(telemetry);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("dark-factory", serviceInstanceId: Environment.MachineName + "/" + Environment.ProcessId))
            .WithMetrics(m => m.AddMeter(FleetTelemetry.Name).AddPrometheusExporter())
            .WithTracing(t =>
            {
                t.AddSource(FleetTelemetry.Name);

                // traces leave the daemon only when an OTLP collector is configured (standard OTEL_* variables)
                if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
                {
                    t.AddOtlpExporter();
                }
            });
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info = new OpenApiInfo
            {
                Title = "Dark Factory API",
                Version = "v1",
                Description = "The daemon's HTTP API on loopback. Every endpoint but /api/health needs the bearer token from the data directory's `token` file (`df dashboard` prints a URL with it). Errors are problem details (RFC 7807) naming the bad field.",
            };
            doc.Components ??= new OpenApiComponents();
            doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            doc.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "The token in <data-dir>/token" };
            doc.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", doc)] = [] }];
            if (doc.Paths.TryGetValue("/api/health", out var health) && health.Operations is { } ops)
            {
                foreach (var op in ops.Values)
                {
                    op.Security = [];
                }
            }

            return Task.CompletedTask;
        }));
    }

    public static void MapDarkFactoryObservability(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapPrometheusScrapingEndpoint("/metrics");
    }
}
