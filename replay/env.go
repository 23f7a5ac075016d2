package replay

import (
	"fmt"
	"strings"
)

// secretWords mark variable names whose values a seed file must not hold.
var secretWords = [...]string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH"}

// IsSecretName reports whether an environment variable's name looks like
// it holds a secret: it contains TOKEN, SECRET, PASSWORD, PASSWD, KEY,
// CREDENTIAL or AUTH, in any case. It errs on the side of redacting
// (KEYBOARD, SSH_AUTH_SOCK).
func IsSecretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// RecordEnv turns an environment ("NAME=value" strings, os.Environ order)
// into what a seed file records: every variable in order, the values of
// secret-looking ones (IsSecretName) left out. Entries without "=" cannot
// be looked up by a replay and are dropped, as are secret-looking names a
// seed file cannot spell (with spaces or control characters).
func RecordEnv(environ []string) []EnvVar {
	out := make([]EnvVar, 0, len(environ))
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if IsSecretName(name) {
			if validEnvName(name) {
				out = append(out, EnvVar{Name: name, Redacted: true})
			}
			continue
		}
		out = append(out, EnvVar{Name: name, Value: value})
	}
	return out
}

// ReplayEnv builds the environment a replay runs with: the recorded
// variables in their recorded order, redacted ones with the value lookup
// (os.LookupEnv) gives them now. notes says which redacted variables are
// missing. A seed without env lines (older writers) gives env == nil: run
// with the replaying environment, as the recording did.
func ReplayEnv(recorded []EnvVar, lookup func(string) (string, bool)) (env []string, notes []string) {
	if len(recorded) == 0 {
		return nil, []string{"the seed file records no environment: replaying with the current one"}
	}
	env = make([]string, 0, len(recorded))
	for _, v := range recorded {
		if !v.Redacted {
			env = append(env, v.Name+"="+v.Value)
			continue
		}
		if val, ok := lookup(v.Name); ok {
			env = append(env, v.Name+"="+val)
		} else {
			notes = append(notes, fmt.Sprintf("%s was set when the seed was recorded (value not recorded: it looks secret) and is not set now: replaying without it", v.Name))
		}
	}
	return env, notes
}
