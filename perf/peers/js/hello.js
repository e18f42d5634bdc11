// The peer table's start-up row: prints one line and exits.
console.log("Hello, world!");
