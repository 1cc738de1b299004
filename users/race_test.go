//go:build race

package users_test

// raceDetector is true when the tests run with the race detector, whose shadow memory
// multiplies what the process holds: memory measurements are meaningless then.
const raceDetector = true
