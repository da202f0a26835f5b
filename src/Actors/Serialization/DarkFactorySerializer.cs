using System.Collections.Frozen;
using System.Reflection;
using Akka.Serialization;

namespace DarkFactory.Actors.Serialization;

/// <summary>
/// Serializer of every <see cref="IDarkFactoryMessage"/>: JSON (<see cref="DarkFactoryJson"/>) with the
/// type's stable <see cref="ManifestAttribute"/> as manifest, so moving or renaming a type never breaks
/// stored events or a mixed-version cluster. Bound in hocon/darkfactory.conf.
/// </summary>
public sealed class DarkFactorySerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4711;

    private static readonly FrozenDictionary<string, Type> ByManifest = DarkFactoryJson.Manifests.ToFrozenDictionary(StringComparer.Ordinal);
    private static readonly FrozenDictionary<Type, string> ByType = DarkFactoryJson.Manifests.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        ByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType().FullName} has no [Manifest]: every Dark Factory message needs one");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), DarkFactoryJson.Options);

    public override object FromBinary(byte[] bytes, string manifest) =>
        ByManifest.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type, DarkFactoryJson.Options)!
            : throw new SerializationException($"unknown manifest '{manifest}'");
}

public sealed class SerializationException(string message) : Exception(message);
