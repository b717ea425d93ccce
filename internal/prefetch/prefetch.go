// Package prefetch asks the processor to bring memory into its caches
// before it is read. A verifier that reads a bundle of gigabytes once, from
// start to end, otherwise waits on main memory for each line: an ordinary
// load of bytes ahead waits too, where a prefetch does not.
package prefetch
