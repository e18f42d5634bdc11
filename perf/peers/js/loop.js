// The peer table's loop: s = s + i * 2 for i = 1 .. 100,000,000. JavaScript numbers are doubles; every partial
// sum (i * (i + 1), even and below 2^54) is exact, so this prints 10000000100000000.
function main() {
  let s = 0;
  for (let i = 1; i <= 100000000; i++) {
    s = s + i * 2;
  }
  console.log(s);
}
main();
