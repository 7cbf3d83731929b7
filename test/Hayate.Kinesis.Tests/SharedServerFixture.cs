using Hayate.Testing;

// One real server for the whole run; tests keep apart by names of their own.
[assembly: AssemblyFixture(typeof(SharedServer))]
