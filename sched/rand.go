package sched

import "math/rand/v2"

// newGuestRand returns a ChaCha8 stream of the guest's randomness for
// (seed, stream); streams are independent of each other and of the
// scheduling decisions.
func newGuestRand(seed, stream uint64) *rand.ChaCha8 {
	var key [32]byte
	for i := range 4 {
		v := seed ^ uint64(i)*0x9e3779b97f4a7c15
		if i == 3 {
			v ^= stream * 0xbf58476d1ce4e5b9
		}
		for j := range 8 {
			key[i*8+j] = byte(v >> (8 * j))
		}
	}
	return rand.NewChaCha8(key)
}

// threadRand is thread vtid's own random stream (getrandom, reads of
// /dev/urandom): what one thread draws does not depend on how many bytes
// the others drew before it.
func (s *Scheduler) threadRand(vtid int) *rand.ChaCha8 {
	return newGuestRand(s.cfg.Seed, uint64(vtid))
}
