package main

import (
	"errors"
	"image"
)

// filter is what ?filter= picks. apply changes an image in place; "none" has no apply, so
// the picture is served as it is stored and the trace has no filter span.
type filter struct {
	name  string
	apply func(*image.RGBA)
}

// defaultFilter is applied when the request names none: the demo's point is the filter span.
const defaultFilter = "sepia"

var filters = []filter{
	{"sepia", sepia},
	{"grayscale", grayscale},
	{"none", nil},
}

var errUnknownFilter = errors.New("filter must be sepia, grayscale or none")

// parseFilter reads the filter parameter; empty means defaultFilter.
func parseFilter(s string) (filter, error) {
	if s == "" {
		s = defaultFilter
	}
	for _, f := range filters {
		if f.name == s {
			return f, nil
		}
	}
	return filter{}, errUnknownFilter
}

// sepia tones img with the classic sepia matrix. The rows of the matrix weigh red most
// and blue least, so every filtered pixel has R >= G >= B: the brown look.
func sepia(img *image.RGBA) {
	eachPixel(img, func(r, g, b int) (int, int, int) {
		return (393*r + 769*g + 189*b) / 1000,
			(349*r + 686*g + 168*b) / 1000,
			(272*r + 534*g + 131*b) / 1000
	})
}

// grayscale replaces each pixel by its luma (ITU-R BT.601 weights), as a black and white
// photograph would record it.
func grayscale(img *image.RGBA) {
	eachPixel(img, func(r, g, b int) (int, int, int) {
		y := (299*r + 587*g + 114*b) / 1000
		return y, y, y
	})
}

// eachPixel maps every pixel's colour through f. It works on img.Pix directly, because
// going through At and Set costs an allocation per pixel. RGBA holds colours premultiplied
// by alpha, so a result is capped at the pixel's alpha (255 for the gallery's opaque
// pictures) to stay a valid colour.
func eachPixel(img *image.RGBA, f func(r, g, b int) (int, int, int)) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y):img.PixOffset(b.Max.X, y)]
		for i := 0; i+3 < len(row); i += 4 {
			a := int(row[i+3])
			r, g, bl := f(int(row[i]), int(row[i+1]), int(row[i+2]))
			row[i], row[i+1], row[i+2] = uint8(min(r, a)), uint8(min(g, a)), uint8(min(bl, a))
		}
	}
}
