namespace DarkFactory.Actors.Projects;

/// <summary>The registry -> a new project's actor: record it and answer the requester.</summary>
internal sealed record CreateProject(ProjectCreated Created, IActorRef ReplyTo);

/// <summary>A project -> the registry: it wants to run (one of <c>projects.concurrency</c> slots).</summary>
internal sealed record RequestSlot(string ProjectId);

/// <summary>A project -> the registry: it no longer runs (paused, timed out, finished).</summary>
internal sealed record ReleaseSlot(string ProjectId);

internal sealed record SlotGranted;

/// <summary>The registry's answer when every slot is taken: the project waits, <see cref="Ahead"/> before it.</summary>
internal sealed record SlotQueued(int Ahead, int Concurrency);

/// <summary>The registry -> a parent project: a project was forked from it.</summary>
internal sealed record AddChild(string ChildId);
