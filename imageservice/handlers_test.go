package main

import (
	"bytes"
	"image"
	"image/png"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/accountid"
	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/internal/servicetest"
)

const testPublicURL = "http://images.test:7777"

// paintOnce paints the gallery once for all tests: it is read-only after that.
var paintOnce = sync.OnceValues(paintGallery)

func testGallery(t testing.TB) *gallery {
	t.Helper()
	g, err := paintOnce()
	if err != nil {
		t.Fatalf("paintGallery() error: %v", err)
	}
	return g
}

// get sends a GET for target through the whole server (routing, middleware and all).
func get(t *testing.T, tracer opentracing.Tracer, target string) *httptest.ResponseRecorder {
	t.Helper()
	h := newServer(logging.Discard(), tracer, faults.NewSwitch(true, nil), testGallery(t), testPublicURL)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestAccountImage(t *testing.T) {
	rec := get(t, opentracing.NoopTracer{}, "/accounts/10000")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /accounts/10000 status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	body := servicetest.DecodeJSON(t, rec)
	if got, want := slices.Sorted(maps.Keys(body)), []string{"id", "servedBy", "url"}; !slices.Equal(got, want) {
		t.Errorf("GET /accounts/10000 keys = %v, want %v", got, want)
	}
	if body["id"] != "10000" {
		t.Errorf("GET /accounts/10000 id = %v, want %q", body["id"], "10000")
	}
	wantURL := testPublicURL + "/file/" + testGallery(t).nameFor(10000)
	if body["url"] != wantURL {
		t.Errorf("GET /accounts/10000 url = %v, want %q", body["url"], wantURL)
	}
	if s, _ := body["servedBy"].(string); !strings.HasPrefix(s, "imageservice@") {
		t.Errorf("GET /accounts/10000 servedBy = %v, want imageservice@<hostname>", body["servedBy"])
	}
}

// TestAccountImageSpreads checks that consecutive ids get every picture, each picture a
// real file of the service, and that the answer does not change from one call to the next.
func TestAccountImageSpreads(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range []string{"10000", "10001", "10002", "10003", "10004", "10005", "10006"} {
		var urls []string
		for range 2 {
			rec := get(t, opentracing.NoopTracer{}, "/accounts/"+id)
			url, _ := servicetest.DecodeJSON(t, rec)["url"].(string)
			urls = append(urls, url)
		}
		if urls[0] != urls[1] {
			t.Errorf("GET /accounts/%s url = %q, then %q, want the same", id, urls[0], urls[1])
		}
		name, ok := strings.CutPrefix(urls[0], testPublicURL+"/file/")
		if !ok {
			t.Fatalf("GET /accounts/%s url = %q, want %s/file/<name>", id, urls[0], testPublicURL)
		}
		if _, err := testGallery(t).file(name); err != nil {
			t.Errorf("GET /accounts/%s url names %q, which the gallery has not: %v", id, name, err)
		}
		seen[name] = true
	}
	if len(seen) != len(testGallery(t).names) {
		t.Errorf("7 consecutive ids got %d pictures, want all %d", len(seen), len(testGallery(t).names))
	}
}

func TestAccountImageBadID(t *testing.T) {
	tests := []struct {
		name, id string
		want     int
	}{
		{"letters", "abc", http.StatusBadRequest},
		{"negative", "-1", http.StatusBadRequest},
		{"plus sign", "+1", http.StatusBadRequest},
		{"fraction", "1.5", http.StatusBadRequest},
		{"hex", "0x10", http.StatusBadRequest},
		{"leading zeros", "00010000", http.StatusBadRequest}, // accountservice knows no such account either
		{"space", "%201", http.StatusBadRequest},
		{"unicode digit", "%D9%A1", http.StatusBadRequest}, // ARABIC-INDIC DIGIT ONE
		{"20 digits", "12345678901234567890", http.StatusBadRequest},
		{"absurdly long", strings.Repeat("9", 500), http.StatusBadRequest},
		{"19 digits is still an id", "9999999999999999999", http.StatusOK},
		{"zero", "0", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, opentracing.NoopTracer{}, "/accounts/"+tt.id)
			if rec.Code != tt.want {
				t.Fatalf("GET /accounts/%s status = %d, want %d; body %s", tt.id, rec.Code, tt.want, rec.Body)
			}
			body := servicetest.DecodeJSON(t, rec)
			if tt.want == http.StatusOK {
				return
			}
			if body["error"] != accountid.ErrInvalid.Error() || len(body) != 1 {
				t.Errorf("GET /accounts/%s body = %v, want {\"error\": %q}", tt.id, body, accountid.ErrInvalid)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, target string
		wantStatus   int
		wantError    string // the start of the error message
	}{
		{"unknown name", "/file/nope.png", http.StatusNotFound, errUnknownImage.Error()},
		{"name without extension", "/file/sunset", http.StatusNotFound, errUnknownImage.Error()},
		{"name in other case", "/file/SUNSET.PNG", http.StatusNotFound, errUnknownImage.Error()},
		{"escaped path", "/file/..%2fmain.go", http.StatusNotFound, errUnknownImage.Error()},
		{"unknown filter", "/file/sunset.png?filter=blur", http.StatusBadRequest, errUnknownFilter.Error()},
		{"filter in other case", "/file/sunset.png?filter=Sepia", http.StatusBadRequest, errUnknownFilter.Error()},
		{"unknown name wins over filter", "/file/nope.png?filter=blur", http.StatusNotFound, errUnknownImage.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, opentracing.NoopTracer{}, tt.target)
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET %s status = %d, want %d; body %s", tt.target, rec.Code, tt.wantStatus, rec.Body)
			}
			body := servicetest.DecodeJSON(t, rec)
			msg, _ := body["error"].(string)
			if !strings.HasPrefix(msg, tt.wantError) || len(body) != 1 {
				t.Errorf("GET %s body = %v, want {\"error\": %q...}", tt.target, body, tt.wantError)
			}
		})
	}
}

// TestFileUnknownNameListsPictures checks that a 404 tells the client what there is.
func TestFileUnknownNameListsPictures(t *testing.T) {
	msg, _ := servicetest.DecodeJSON(t, get(t, opentracing.NoopTracer{}, "/file/nope.png"))["error"].(string)
	for _, name := range testGallery(t).names {
		if !strings.Contains(msg, name) {
			t.Errorf("GET /file/nope.png error = %q, want it to list %q", msg, name)
		}
	}
}

// getPNG fetches target and decodes the picture it answers with.
func getPNG(t *testing.T, target string) *image.RGBA {
	t.Helper()
	rec := get(t, opentracing.NoopTracer{}, target)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s status = %d, want 200; body %s", target, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "image/png" {
		t.Errorf("GET %s Content-Type = %q, want image/png", target, ct)
	}
	img, err := png.Decode(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("GET %s: body is not a PNG: %v", target, err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, imageSize, imageSize) {
		t.Errorf("GET %s size = %v, want %dx%d", target, got, imageSize, imageSize)
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		t.Fatalf("GET %s decodes to %T, want *image.RGBA (an opaque picture)", target, img)
	}
	return rgba
}

func TestFileFilters(t *testing.T) {
	original := getPNG(t, "/file/rainbow.png?filter=none")
	// A blue pixel: blue well above red, the opposite of what sepia makes.
	var at image.Point
	found := false
	for x := 0; x < imageSize && !found; x++ {
		c := original.RGBAAt(x, 0)
		if int(c.B) > int(c.R)+100 && int(c.B) > int(c.G)+100 {
			at, found = image.Pt(x, 0), true
		}
	}
	if !found {
		t.Fatal("rainbow.png has no blue pixel in its top row to test the filters on")
	}
	orig := original.RGBAAt(at.X, at.Y)

	for _, target := range []string{"/file/rainbow.png", "/file/rainbow.png?filter=sepia"} {
		c := getPNG(t, target).RGBAAt(at.X, at.Y)
		if !(c.R >= c.G && c.G >= c.B) || c == orig {
			t.Errorf("GET %s pixel %v = %v (was %v), want a changed pixel with R >= G >= B", target, at, c, orig)
		}
	}
	gray := getPNG(t, "/file/rainbow.png?filter=grayscale").RGBAAt(at.X, at.Y)
	if gray.R != gray.G || gray.G != gray.B || gray == orig {
		t.Errorf("GET /file/rainbow.png?filter=grayscale pixel %v = %v (was %v), want R = G = B", at, gray, orig)
	}
}

// TestFileEveryPicture fetches every picture with the default filter.
func TestFileEveryPicture(t *testing.T) {
	for _, name := range testGallery(t).names {
		t.Run(name, func(t *testing.T) {
			img := getPNG(t, "/file/"+name)
			c := img.RGBAAt(imageSize/3, imageSize/3)
			if !(c.R >= c.G && c.G >= c.B) {
				t.Errorf("GET /file/%s pixel (%d,%d) = %v, want sepia (R >= G >= B)", name, imageSize/3, imageSize/3, c)
			}
		})
	}
}

// BenchmarkFile measures one filtered picture through the whole handler, the cost the
// trace splits into decode, filter and encode spans (target: a few ms per request).
func BenchmarkFile(b *testing.B) {
	h := newServer(logging.Discard(), opentracing.NoopTracer{}, faults.NewSwitch(true, nil), testGallery(b), testPublicURL)
	for _, f := range filters {
		b.Run(f.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/file/landscape.png?filter="+f.name, nil)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s status = %d, want 200", req.URL, rec.Code)
				}
			}
		})
	}
}
