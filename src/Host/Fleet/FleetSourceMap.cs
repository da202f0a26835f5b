using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DarkFactory.Host.Fleet;

/// <summary>Where each field of a loaded fleet came from, so that validators running on records can point at lines.</summary>
internal sealed class FleetSourceMap
{
    private readonly Dictionary<string, Mark> _marks = new(StringComparer.Ordinal);
    private readonly Dictionary<object, string> _paths = new(ReferenceEqualityComparer.Instance);

    public void Mark(string path, YamlNode node) => _marks[path] = node.Start;

    public void Bind(object record, string path) => _paths[record] = path;

    public string PathOf(object record) => _paths.TryGetValue(record, out var p) ? p : "";

    public bool Has(string path) => _marks.ContainsKey(path);

    /// <summary>1-based position of the node at <paramref name="path"/>, or of its closest ancestor that has one.</summary>
    public (int Line, int Column) At(string path)
    {
        var p = path;
        while (true)
        {
            if (_marks.TryGetValue(p, out var m))
            {
                return ((int)m.Line, (int)m.Column);
            }

            if (p.Length == 0)
            {
                return (1, 1);
            }

            var cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
            p = cut <= 0 ? "" : p[..cut];
        }
    }
}
