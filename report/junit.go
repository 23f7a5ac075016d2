package report

import (
	"encoding/xml"
	"fmt"
	"io"
)

// JUnitCase is one distinct failure (a signature) or, for a clean
// session, the exploration itself.
type JUnitCase struct {
	Name    string // the signature
	Runs    int    // failing runs with this signature
	First   int    // the first run that had it
	Seed    string // its seed file
	Message string // one line
	Details string // the failure report
}

// JUnit writes a JUnit XML report: one test suite for the session, one
// test case per failure signature (a clean session has one passing case).
func JUnit(w io.Writer, target string, runs int, elapsed float64, cases []JUnitCase) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		SystemOut string   `xml:"system-out,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	type testsuites struct {
		XMLName xml.Name    `xml:"testsuites"`
		Suites  []testsuite `xml:"testsuite"`
	}
	suite := testsuite{Name: "schedfuzz " + target, Time: fmt.Sprintf("%.3f", elapsed)}
	class := "schedfuzz." + target
	if len(cases) == 0 {
		suite.Cases = append(suite.Cases, testcase{Name: fmt.Sprintf("explore (%d runs, no failure)", runs), Classname: class, Time: suite.Time})
	}
	for _, c := range cases {
		suite.Cases = append(suite.Cases, testcase{Name: c.Name, Classname: class, Time: "0",
			Failure:   &failure{Message: c.Message, Type: "schedfuzz", Text: c.Details},
			SystemOut: fmt.Sprintf("%d failing runs, first: run %d\nreplay: schedfuzz replay %s\n", c.Runs, c.First, c.Seed)})
		suite.Failures++
	}
	suite.Tests = len(suite.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(testsuites{Suites: []testsuite{suite}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
