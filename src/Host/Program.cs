using DarkFactory.Host.Cli;

return await CliApp.RunAsync(args);
