namespace DarkFactory.Actors.Projects;

/// <summary>The personas a project can use, by name (the loader of <c>projects.personas_dir</c> fills one).</summary>
public interface IPersonaCatalog
{
    IReadOnlyList<Persona> All { get; }

    /// <summary>The persona of that name, or null.</summary>
    Persona? Find(string name);
}

/// <summary>An immutable catalog over a list of personas (names compared exactly; the first of a name wins).</summary>
public sealed class PersonaCatalog : IPersonaCatalog
{
    private readonly Dictionary<string, Persona> _byName = new(StringComparer.Ordinal);

    public PersonaCatalog(IEnumerable<Persona> personas)
    {
        var all = new List<Persona>();
        foreach (var p in personas)
        {
            if (_byName.TryAdd(p.Name, p))
            {
                all.Add(p);
            }
        }

        All = all;
    }

    public static PersonaCatalog Empty { get; } = new([]);

    public IReadOnlyList<Persona> All { get; }

    public Persona? Find(string name) => _byName.GetValueOrDefault(name);
}
