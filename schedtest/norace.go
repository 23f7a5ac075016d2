//go:build !race

package schedtest

// raceEnabled: the test binary was built with -race.
const raceEnabled = false
