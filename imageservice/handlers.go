package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/accountid"
	"tracelab/common/faults"
	"tracelab/common/respond"
	"tracelab/common/tracing"
)

// servedBy names this process in answers.
var servedBy = respond.ServedBy(serviceName)

// handleAccountImage answers GET /accounts/{id} with the url of the account's picture.
// It is cheap on purpose (no image work): accountservice calls it on every account read,
// and the picture itself is fetched later, by whoever shows it.
//
// Two faults act here. image-leak keeps memory on every request (leak.go). retry-storm
// fails the first attempts of a call quickly, with a 503: accountservice numbers its
// attempts in the X-Tracelab-Attempt header, and retries at once.
func handleAccountImage(log *slog.Logger, images *gallery, leak *imageLeak, publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.PathValue("id")
		n, err := accountid.Parse(id)
		if err != nil {
			log.InfoContext(ctx, "bad request", "err", err)
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if faults.On(ctx, faults.ImageLeak) {
			leak.keep(ctx)
		}
		if faults.On(ctx, faults.RetryStorm) {
			if attempt, fails := failsThisAttempt(ctx, r); fails {
				log.WarnContext(ctx, "failing on purpose (retry-storm)", "attempt", attempt)
				respond.Error(w, http.StatusServiceUnavailable, "imageservice is failing on purpose (retry-storm): attempt "+strconv.Itoa(attempt))
				return
			}
		}
		respond.JSON(w, http.StatusOK, AccountImage{
			ID:       id,
			URL:      publicURL + "/file/" + images.nameFor(n),
			ServedBy: servedBy,
		})
	})
}

// handleFile answers GET /file/{name}?filter=sepia|grayscale|none with the picture as a
// PNG, filtered on every request. Decoding, filtering and encoding each run in a child
// span of the request's span: the trace shows where the few milliseconds go. The
// image-leak fault keeps memory here too, and lock-contention sends the filter through
// one shared lock (contention.go).
func handleFile(log *slog.Logger, images *gallery, leak *imageLeak, lock *sharedLock) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if faults.On(ctx, faults.ImageLeak) {
			leak.keep(ctx)
		}
		file, err := images.file(r.PathValue("name"))
		if err != nil {
			log.InfoContext(ctx, "not found", "err", err)
			respond.Error(w, http.StatusNotFound, err.Error()+"; there are "+images.list())
			return
		}
		f, err := parseFilter(r.URL.Query().Get("filter"))
		if err != nil {
			log.InfoContext(ctx, "bad request", "err", err)
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		body, err := render(ctx, log, file, f, lock)
		if err != nil {
			// The files are our own, painted at startup: failing to read one is our bug.
			log.ErrorContext(ctx, "render image", "image", r.PathValue("name"), "err", err)
			respond.Error(w, http.StatusInternalServerError, "the image could not be rendered")
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// render decodes a stored PNG, applies f and encodes the result. The whole answer is
// encoded before anything is written, so a failure can still become a proper error.
//
// With the lock-contention fault on, the filter runs behind one lock that every request
// shares, held a while longer (DurationOf, 25ms by default): requests queue for it, and
// lab 2 asks you to find them waiting.
func render(ctx context.Context, log *slog.Logger, file []byte, f filter, lock *sharedLock) ([]byte, error) {
	img, err := decodePNG(ctx, file)
	if err != nil {
		return nil, err
	}
	if f.apply != nil {
		if faults.On(ctx, faults.LockContention) {
			hold, _ := faults.DurationOf(ctx, faults.LockContention)
			lock.filterBehindLock(ctx, log, img, f, hold)
		} else {
			applyFilter(ctx, img, f)
		}
	}
	return encodePNG(ctx, img)
}

// applyFilter applies f to img in a span of its own.
func applyFilter(ctx context.Context, img *image.RGBA, f filter) {
	span, _ := tracing.StartChild(ctx, "apply "+f.name+" filter")
	span.SetTag("filter", f.name)
	span.SetTag("pixels", img.Bounds().Dx()*img.Bounds().Dy())
	f.apply(img)
	span.Finish()
}

// AttemptHeader is where accountservice numbers the attempts of a call it retries (the
// retry-storm fault): 1 for the first.
const AttemptHeader = "X-Tracelab-Attempt"

// failsThisAttempt is the retry-storm fault's failing side: the attempts numbered up to
// the fault's parameter (faults.CountOf, 5 by default) fail, the next one succeeds, so the
// storm always ends, after a known number of calls. A request without the header is a
// first attempt. The server span gets the number as the tag retry.attempt.
func failsThisAttempt(ctx context.Context, r *http.Request) (attempt int, fails bool) {
	attempt, err := strconv.Atoi(r.Header.Get(AttemptHeader))
	if err != nil || attempt < 1 {
		attempt = 1
	}
	if span := opentracing.SpanFromContext(ctx); span != nil {
		span.SetTag("retry.attempt", attempt)
	}
	failing, _ := faults.CountOf(ctx, faults.RetryStorm)
	return attempt, attempt <= failing
}

func decodePNG(ctx context.Context, file []byte) (*image.RGBA, error) {
	span, _ := tracing.StartChild(ctx, "png decode")
	defer span.Finish()
	span.SetTag("bytes", len(file))
	img, err := png.Decode(bytes.NewReader(file))
	if err != nil {
		tracing.SetError(span, err)
		return nil, fmt.Errorf("png decode: %w", err)
	}
	if rgba, ok := img.(*image.RGBA); ok {
		return rgba, nil // what png.Decode returns for the gallery's opaque pictures
	}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	return rgba, nil
}

// pngEncoder trades a little size for speed: these answers are made on every request.
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed}

func encodePNG(ctx context.Context, img image.Image) ([]byte, error) {
	span, _ := tracing.StartChild(ctx, "png encode")
	defer span.Finish()
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, img); err != nil {
		tracing.SetError(span, err)
		return nil, fmt.Errorf("png encode: %w", err)
	}
	span.SetTag("bytes", buf.Len())
	return buf.Bytes(), nil
}
