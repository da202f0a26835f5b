// The namespaces most files of the actors and the host use, imported once here rather than at the top of each file
// (docs/architecture.md, "Choices worth knowing"); both projects compile this file (their .csproj links it) and add
// their own in their GlobalUsings.cs. A file imports anything else itself.
global using System.Globalization;
global using System.Text;
global using System.Text.Json;
global using Akka.Actor;
global using DarkFactory.Messages;
global using DarkFactory.Messages.Agents;
global using DarkFactory.Messages.Fleet;
global using DarkFactory.Messages.Nightwatch;
global using DarkFactory.Messages.Projects;
global using DarkFactory.Messages.Providers;
global using DarkFactory.Messages.Review;
global using DarkFactory.Messages.Scheduling;
