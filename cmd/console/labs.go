package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"tracelab/common/respond"
)

// labDirPattern is a lab's folder in workshop/labs: 01-read-a-trace.
var labDirPattern = regexp.MustCompile(`^(\d{2})-([a-z0-9-]+)$`)

// labInfo is one lab as the page lists it.
type labInfo struct {
	Number  int    `json:"number"`
	Slug    string `json:"slug"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

// labText is one lab with its text. The answer never carries SOLUTION.md: the console
// serves only each lab's README.md, and Solution says so to the page.
type labText struct {
	labInfo
	Markdown string `json:"markdown"`
	Solution bool   `json:"solution"`
}

// labsDir is the folder of the labs: <dir>/workshop/labs.
func labsDir(cfg config) string { return filepath.Join(cfg.dir, "workshop", "labs") }

// readLabs lists the labs from their folders, in order. The folders are the one list of
// labs the page needs: a lab's title is its README's first heading, its summary the first
// point of "What you'll learn".
func readLabs(dir string) ([]labText, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("the labs' folder: %w (run the console from the repository root, or give -dir)", err)
	}
	var labs []labText
	for _, e := range entries {
		m := labDirPattern.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		text, err := os.ReadFile(filepath.Join(dir, e.Name(), "README.md"))
		if err != nil {
			return nil, fmt.Errorf("lab %d's text: %w", n, err)
		}
		md := string(text)
		labs = append(labs, labText{
			labInfo:  labInfo{Number: n, Slug: e.Name(), Title: labTitle(md, m[2]), Summary: labSummary(md)},
			Markdown: md,
		})
	}
	sort.Slice(labs, func(i, j int) bool { return labs[i].Number < labs[j].Number })
	return labs, nil
}

// labTitle is "Read a trace" from "# Lab 1: Read a trace", else the slug.
func labTitle(md, slug string) string {
	for _, line := range strings.Split(md, "\n") {
		if title, ok := strings.CutPrefix(line, "# "); ok {
			if _, rest, ok := strings.Cut(title, ": "); ok {
				return strings.TrimSpace(rest)
			}
			return strings.TrimSpace(title)
		}
	}
	return slug
}

// labSummary is the first point of the lab's "What you'll learn", on one line.
func labSummary(md string) string {
	in := false
	var point []string
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			if len(point) > 0 {
				return strings.Join(point, " ")
			}
			in = strings.HasPrefix(line, "## What you'll learn")
		case !in:
		case strings.HasPrefix(line, "- "):
			if len(point) > 0 {
				return strings.Join(point, " ")
			}
			point = append(point, strings.TrimSpace(line[2:]))
		case len(point) > 0 && strings.TrimSpace(line) != "":
			point = append(point, strings.TrimSpace(line))
		case len(point) > 0:
			return strings.Join(point, " ")
		}
	}
	return strings.Join(point, " ")
}

// findLab returns lab n, or an error for the page: a 404 for a number no lab has.
func findLab(dir, arg string) (labText, int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return labText{}, http.StatusBadRequest, fmt.Errorf("lab %.20q: want a lab's number", arg)
	}
	labs, err := readLabs(dir)
	if err != nil {
		return labText{}, http.StatusInternalServerError, err
	}
	for _, l := range labs {
		if l.Number == n {
			return l, 0, nil
		}
	}
	return labText{}, http.StatusNotFound, fmt.Errorf("there is no lab %d: the labs are 1 to %d", n, len(labs))
}

// handleLabs is GET /api/labs: every lab, without its text.
func handleLabs(log *slog.Logger, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		labs, err := readLabs(dir)
		if err != nil {
			log.ErrorContext(r.Context(), "labs", "err", err)
			respond.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		list := make([]labInfo, len(labs))
		for i, l := range labs {
			list[i] = l.labInfo
		}
		respond.JSON(w, http.StatusOK, list)
	})
}

// handleLab is GET /api/labs/{n}: one lab's README.md, never its SOLUTION.md.
func handleLab(log *slog.Logger, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, status, err := findLab(dir, r.PathValue("n"))
		if err != nil {
			log.WarnContext(r.Context(), "lab", "err", err)
			respond.Error(w, status, err.Error())
			return
		}
		respond.JSON(w, http.StatusOK, l)
	})
}

// workshopAnswer is what a setup or a check printed, and whether it went well: for a check,
// passed is the ✓ (the workshop command's exit status 0).
type workshopAnswer struct {
	OK     *bool  `json:"ok,omitempty"`
	Passed *bool  `json:"passed,omitempty"`
	Output string `json:"output"`
}

// maxAnswer is the longest answer a check's body may carry.
const maxAnswer = 4 << 10

// handleWorkshop is POST /api/labs/{n}/setup and /check: it runs the workshop command,
// bin/workshop, exactly as make setup LAB=n and make check LAB=n ANSWER=... do, and
// answers with what it printed and its verdict.
//
// Why run the command rather than call its code: cmd/workshop is the one place each lab's
// check lives, with its state in .run/workshop; running the very binary make check runs,
// with the same environment, means the page and the terminal cannot disagree, and a lab's
// check changes in one place. A check takes seconds (it waits for spans), so a process per
// click costs nothing that shows.
func handleWorkshop(log *slog.Logger, cfg config, dir, cmd string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, status, err := findLab(dir, r.PathValue("n"))
		if err != nil {
			respond.Error(w, status, err.Error())
			return
		}
		args := []string{cmd, strconv.Itoa(l.Number)}
		if cmd == "check" {
			answer, err := readAnswer(r)
			if err != nil {
				respond.Error(w, http.StatusBadRequest, err.Error())
				return
			}
			if answer != "" {
				args = append(args, answer)
			}
		}
		out, ok, err := runWorkshop(r.Context(), cfg, args)
		if err != nil {
			log.ErrorContext(r.Context(), "workshop", "args", args, "err", err)
			respond.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		log.InfoContext(r.Context(), "workshop", "args", args, "ok", ok)
		answer := workshopAnswer{Output: out}
		if cmd == "check" {
			answer.Passed = &ok
		} else {
			answer.OK = &ok
		}
		respond.JSON(w, http.StatusOK, answer)
	})
}

// readAnswer reads a check's body, {"answer": "..."}; an empty body is no answer (labs 3,
// 4, 10 and 11 take none).
func readAnswer(r *http.Request) (string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAnswer+1))
	if err != nil {
		return "", fmt.Errorf("the body could not be read: %v", err)
	}
	if len(body) > maxAnswer {
		return "", fmt.Errorf("the body is over %d bytes: an answer is a few words", maxAnswer)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	var in struct {
		Answer string `json:"answer"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return "", fmt.Errorf("the body is not {\"answer\": \"...\"}: %v", err)
	}
	return strings.TrimSpace(in.Answer), nil
}

// runWorkshop runs the workshop command in the repository with args and returns what it
// printed (stdout and stderr, in order) and whether it exited 0. err is for a command that
// could not run at all.
func runWorkshop(ctx context.Context, cfg config, args []string) (string, bool, error) {
	if _, err := os.Stat(cfg.workshop); err != nil {
		return "", false, fmt.Errorf("the workshop command %s is missing: run make build (make console and make run do)", cfg.workshop)
	}
	ctx, cancel := context.WithTimeout(ctx, workshopTimeout)
	defer cancel()
	var out bytes.Buffer
	c := exec.CommandContext(ctx, cfg.workshop, args...)
	c.Dir, c.Env, c.Stdout, c.Stderr = cfg.dir, cfg.environ, &out, &out
	err := c.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), true, nil
	case ctx.Err() != nil:
		return out.String() + fmt.Sprintf("\n✗ stopped after %v: the check took too long\n", workshopTimeout), false, nil
	case errors.As(err, &exit):
		return out.String(), false, nil
	}
	return "", false, fmt.Errorf("run %s: %w", cfg.workshop, err)
}
