namespace DarkFactory.Messages;

/// <summary>
/// A message that carries nothing but its type: a timer's tick, a query without arguments, an acknowledgement.
/// Declared as <c>sealed record Tick : Signal&lt;Tick&gt;;</c> and sent as <c>Tick.Instance</c>, one instance for
/// every send. Every instance of a type equals every other (a copy that crossed the wire still matches), and one
/// with a manifest serializes as <c>{}</c>.
/// </summary>
/// <typeparam name="T">The signal's own type.</typeparam>
public abstract record Signal<T>
    where T : Signal<T>, new()
{
    public static readonly T Instance = new();
}
