using DarkFactory.Actors.Isolation;
using DarkFactory.Actors.Processes;
using DarkFactory.Actors.Review;

namespace DarkFactory.Actors.Agents;

/// <summary>
/// An isolated run's worktree (<c>isolation: worktree</c>): the run starts once its worktree is ready (or fails as
/// the reason says), and ends once what it left on its branch is committed and gated (<see cref="EndAfterBranch"/>).
/// </summary>
public sealed partial class ProcessActor
{
    private void OnWorktreeReady(WorktreeReady ready)
    {
        _worktree = ready.Worktree;
        if (_ending.StopReason is not null)
        {
            var ended = _ending.StoppedBeforeStart(_run.Agent, _run.RunId, DateTimeOffset.UtcNow);
            _run.Log.WriteLine($"--- {ended.Exit.At:O} run {_run.RunId} stopped before it started (stop: {ended.StopReason})");
            EndAfterBranch(ended);
            return;
        }

        LaunchOrClean(RunIsolation.WithGitBinds(_run.Plan, _run.Isolation!.WorkingDirectory));
    }

    /// <summary>No worktree: not a repository, no commit to branch from (the declaration: unavailable), or git failed (this run).</summary>
    private void OnWorktreeFailed(WorktreeFailed failed)
    {
        RemoveRunDirectory();
        var error = failed.Error is AggregateException { InnerException: { } inner } ? inner : failed.Error;
        throw error is GitException && error.Message.StartsWith("isolation:", StringComparison.Ordinal)
            ? new AgentMisconfiguredException(_run.Agent, error.Message)
            : new RunStartFailedException(_run.Agent, _run.RunId, "worktree: " + error.Message);
    }

    private void OnBranchDone(BranchDone done)
    {
        if (done.Error is { } error)
        {
            _log.Warning("Agent [{0}] run [{1}]: its worktree was not committed ({2}); the agent's next run finishes it", _run.Agent, _run.RunId, error.Message);
        }
        else if (done.Branch is { } branch)
        {
            var gates = branch.GatesPassed switch { true => ", gates passed", false => ", gates failed", null => string.Empty };
            _log.Info("Agent [{0}] run [{1}] left branch {2}: {3} commit(s), {4} file(s){5}", _run.Agent, _run.RunId, branch.Branch, branch.Commits, branch.FilesChanged.Count, gates);
            _run.Log.WriteLine($"--- branch {branch.Branch} at {branch.Commit[..Math.Min(12, branch.Commit.Length)]}: {branch.Commits} commit(s), {branch.FilesChanged.Count} file(s){gates}");
        }
        else
        {
            _run.Log.WriteLine("--- no change: no branch");
        }

        End();
    }

    private sealed record WorktreeReady(PreparedWorktree Worktree);

    private sealed record WorktreeFailed(Exception Error);

    private sealed record BranchDone(AgentBranch? Branch, Exception? Error);
}
