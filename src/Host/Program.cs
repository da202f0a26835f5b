using DarkFactory.Host.Fleet;

// Placeholder entry point until the real `df` command line lands: `df validate [fleet.yaml]` checks a fleet file.
if (args is ["validate", ..])
{
    var path = args.Length > 1 ? args[1] : "fleet.yaml";
    var result = FleetLoader.LoadFile(path);
    foreach (var d in result.Diagnostics)
    {
        Console.Error.WriteLine(d);
    }

    Console.WriteLine(result.Ok ? $"{path}: ok ({result.Fleet!.Agents.Count} agents)" : $"{path}: invalid");
    return result.Ok ? 0 : 1;
}

Console.Error.WriteLine("usage: df validate [fleet.yaml]");
return 2;
