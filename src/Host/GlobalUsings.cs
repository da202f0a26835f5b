// The host's own global usings; those it shares with the actors are in src/Shared/GlobalUsings.cs.
global using DarkFactory.Actors;
global using DarkFactory.Host.Daemon;
global using DarkFactory.Host.Fleet;
