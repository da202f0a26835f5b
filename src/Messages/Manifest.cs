namespace DarkFactory.Messages;

/// <summary>
/// Root of every Dark Factory message. The serializer is bound to this interface, so every message that
/// may cross a node or be persisted goes through one explicit, versioned format.
/// </summary>
public interface IDarkFactoryMessage;

/// <summary>
/// Stable manifest of a message type: the storage and wire name. Renaming or moving a type keeps this
/// string; changing the string breaks every stored event, so never do it (add a new type instead).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ManifestAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Messages that carry an agent's name (routers and child-per-entity parents key on it).</summary>
public interface IWithAgent
{
    string Agent { get; }
}
