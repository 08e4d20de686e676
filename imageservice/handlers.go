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

	"tracelab/common/accountid"
	"tracelab/common/respond"
	"tracelab/common/tracing"
)

// servedBy names this process in answers.
var servedBy = respond.ServedBy(serviceName)

// handleAccountImage answers GET /accounts/{id} with the url of the account's picture.
// It is cheap on purpose (no image work): accountservice calls it on every account read,
// and the picture itself is fetched later, by whoever shows it.
func handleAccountImage(log *slog.Logger, images *gallery, publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.PathValue("id")
		n, err := accountid.Parse(id)
		if err != nil {
			log.InfoContext(ctx, "bad request", "err", err)
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
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
// span of the request's span: the trace shows where the few milliseconds go.
func handleFile(log *slog.Logger, images *gallery) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
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
		body, err := render(ctx, file, f)
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
func render(ctx context.Context, file []byte, f filter) ([]byte, error) {
	img, err := decodePNG(ctx, file)
	if err != nil {
		return nil, err
	}
	if f.apply != nil {
		span, _ := tracing.StartChild(ctx, "apply "+f.name+" filter")
		span.SetTag("filter", f.name)
		span.SetTag("pixels", img.Bounds().Dx()*img.Bounds().Dy())
		f.apply(img)
		span.Finish()
	}
	return encodePNG(ctx, img)
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
