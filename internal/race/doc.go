// Package race tells whether the race detector is built in, for tests whose
// figures it changes (it makes sync.Pool drop items at random, so
// allocation counts are not those of a normal build).
package race
