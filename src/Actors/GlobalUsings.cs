// The actors' own global usings; those they share with the host are in src/Shared/GlobalUsings.cs.
global using Akka.Event;
