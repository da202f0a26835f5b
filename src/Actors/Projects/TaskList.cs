using System.Collections;
using System.Collections.Frozen;
using System.Collections.Immutable;

namespace DarkFactory.Actors.Projects;

/// <summary>
/// A project's task list as <see cref="ProjectStateRules"/> keep it in <see cref="ProjectState.Tasks"/>: an
/// immutable list (replacing one task is O(log n)) with an index of the tasks' ids (finding one is O(log n)), so
/// applying an event does not copy the whole list and a recovery of n events stays O(n log n). The list's order
/// and ids never change between a plan and the next audit (an event replaces a task in place), so every version of
/// the list shares one frozen index. It serializes as the plain array it stands for (the property's type is
/// <see cref="IReadOnlyList{T}"/>); a state read back from a snapshot holds a plain list, indexed at its first change.
/// </summary>
internal sealed class TaskList : IReadOnlyList<ProjectTask>
{
    private readonly ImmutableList<ProjectTask> _items;
    private readonly FrozenDictionary<string, int> _index;

    private TaskList(ImmutableList<ProjectTask> items, FrozenDictionary<string, int> index)
    {
        _items = items;
        _index = index;
    }

    public int Count => _items.Count;

    public ProjectTask this[int index] => _items[index];

    /// <summary>The list itself when it is one already, else an indexed copy (O(n), once).</summary>
    public static TaskList Of(IReadOnlyList<ProjectTask> tasks)
    {
        if (tasks is TaskList list)
        {
            return list;
        }

        var index = new Dictionary<string, int>(tasks.Count, StringComparer.Ordinal);
        for (var i = 0; i < tasks.Count; i++)
        {
            index.TryAdd(tasks[i].Id, i); // a duplicate id: the first wins, as a scan would find it
        }

        return new TaskList([.. tasks], index.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Where the task of that id is, or -1.</summary>
    public int IndexOf(string id) => _index.TryGetValue(id, out var i) ? i : -1;

    /// <summary>This list with the task at <paramref name="index"/> replaced (its id must stay).</summary>
    public TaskList SetItem(int index, ProjectTask task) => new(_items.SetItem(index, task), _index);

    public IEnumerator<ProjectTask> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
