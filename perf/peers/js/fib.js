// The peer table's fib: naive recursive Fibonacci of 32.
function fib(n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}
console.log(fib(32));
