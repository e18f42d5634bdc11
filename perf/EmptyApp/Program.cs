// Prints one line, as `jitvm run examples/hello.jvm` does, and exits.
System.Console.WriteLine("Hello, world!");
