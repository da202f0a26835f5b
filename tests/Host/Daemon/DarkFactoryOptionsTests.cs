using Akka.Configuration;
using DarkFactory.Host.Daemon;
using Xunit;

namespace DarkFactory.Host.Tests.Daemon;

public sealed class DarkFactoryOptionsTests
{
    private static Config Shipped() =>
        ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "darkfactory.conf")));

    [Fact]
    public void The_shipped_darkfactory_conf_holds_the_records_defaults()
    {
        // act
        var options = DarkFactoryOptions.Create(Shipped());

        // assert
        Assert.Equal(new DarkFactoryOptions(), options);
    }

    [Fact]
    public void An_operators_file_overrides_a_setting_and_the_rest_keep_their_defaults()
    {
        // arrange
        var config = ConfigurationFactory.ParseString("darkfactory.ask-timeout = 45s").WithFallback(Shipped());

        // act
        var options = DarkFactoryOptions.Create(config);

        // assert
        Assert.Equal(TimeSpan.FromSeconds(45), options.AskTimeout);
        Assert.Equal(new DarkFactoryOptions().ApplyTimeout, options.ApplyTimeout);
    }

    [Fact]
    public void A_missing_section_keeps_every_default()
    {
        Assert.Equal(new DarkFactoryOptions(), DarkFactoryOptions.Create(ConfigurationFactory.Empty));
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("soon")]
    public void A_duration_that_is_not_positive_is_refused_naming_the_key(string value)
    {
        // arrange
        var config = ConfigurationFactory.ParseString($"darkfactory.apply-timeout = {value}");

        // act
        var error = Assert.Throws<ConfigurationException>(() => DarkFactoryOptions.Create(config));

        // assert
        Assert.Contains("darkfactory.apply-timeout", error.Message);
        Assert.Contains(value, error.Message);
    }
}

public sealed class DarkFactoryOptionSizeTests
{
    [Fact]
    public void A_size_is_read_with_its_unit()
    {
        var options = DarkFactoryOptions.Create(ConfigurationFactory.ParseString("darkfactory.event-client-buffer = 256KiB"));

        Assert.Equal(256 * 1024, options.EventClientBytes);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1MiB")]
    [InlineData("lots")]
    public void A_size_that_is_not_positive_is_refused_naming_the_key(string value)
    {
        var config = ConfigurationFactory.ParseString($"darkfactory.event-client-buffer = {value}");

        var error = Assert.Throws<ConfigurationException>(() => DarkFactoryOptions.Create(config));

        Assert.Contains("darkfactory.event-client-buffer", error.Message);
    }
}
