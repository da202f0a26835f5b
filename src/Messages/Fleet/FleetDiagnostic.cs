namespace DarkFactory.Messages.Fleet;

public enum DiagnosticSeverity
{
    Error,
    Warning,
}

/// <summary>One problem found in a fleet file, with where it is: file, 1-based line and column, and field path.</summary>
[Manifest("fleet-diagnostic")]
public sealed record FleetDiagnostic(
    DiagnosticSeverity Severity,
    string File,
    int Line,
    int Column,
    string Field,
    string Message) : IDarkFactoryMessage
{
    public bool IsError => Severity == DiagnosticSeverity.Error;

    public override string ToString() =>
        $"{File}:{Line}:{Column}: {(IsError ? "error" : "warning")}: {(Field.Length == 0 ? "" : Field + ": ")}{Message}";
}
