package replay

import (
	"reflect"
	"strings"
	"testing"
)

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "aws_secret_access_key": true, "DB_PASSWORD": true, "MYSQL_PASSWD": true,
		"API_KEY": true, "GOOGLE_APPLICATION_CREDENTIALS": true, "SSH_AUTH_SOCK": true, "npm_config__auth": true,
		"Token": true, "HOME": false, "PATH": false, "GOFLAGS": false, "LANG": false, "TERM": false,
	} {
		if got := IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRecordEnv(t *testing.T) {
	environ := []string{"HOME=/root", "GITHUB_TOKEN=ghp_verysecret", "EMPTY=", "NOEQUALS", "=nameless",
		"PATH=/bin:/usr/bin", "my key=secretvalue", "HOME=/again"}
	got := RecordEnv(environ)
	want := []EnvVar{{Name: "HOME", Value: "/root"}, {Name: "GITHUB_TOKEN", Redacted: true}, {Name: "EMPTY"},
		{Name: "PATH", Value: "/bin:/usr/bin"}, {Name: "HOME", Value: "/again"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RecordEnv:\n got %+v\nwant %+v", got, want)
	}
	// The secrets never reach the file.
	f := &SeedFile{Target: "/x", SHA256: sha, Env: got}
	enc, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(enc), "secret") || !strings.Contains(string(enc), "\nenv-redacted: GITHUB_TOKEN\n") {
		t.Fatalf("seed file:\n%s", enc)
	}
}

func TestReplayEnv(t *testing.T) {
	rec := []EnvVar{{Name: "HOME", Value: "/root"}, {Name: "GITHUB_TOKEN", Redacted: true},
		{Name: "NPM_TOKEN", Redacted: true}, {Name: "LANG", Value: "C"}}
	now := map[string]string{"GITHUB_TOKEN": "ghp_now", "HOME": "/elsewhere", "EXTRA": "1"}
	lookup := func(k string) (string, bool) { v, ok := now[k]; return v, ok }
	env, notes := ReplayEnv(rec, lookup)
	// Recorded values win over the current ones, order is kept, current
	// variables that were not recorded are not added, a redacted one comes
	// from now.
	if want := []string{"HOME=/root", "GITHUB_TOKEN=ghp_now", "LANG=C"}; !reflect.DeepEqual(env, want) {
		t.Fatalf("ReplayEnv = %q, want %q", env, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "NPM_TOKEN") || !strings.Contains(notes[0], "not set now") {
		t.Fatalf("notes = %q", notes)
	}
	env, notes = ReplayEnv(nil, lookup)
	if env != nil || len(notes) != 1 || !strings.Contains(notes[0], "records no environment") {
		t.Fatalf("no recorded env: %q, %q", env, notes)
	}
}
