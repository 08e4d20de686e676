package main

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"slices"
	"testing"
)

func TestPaintGallery(t *testing.T) {
	g := testGallery(t)
	if len(g.names) != len(pictures) || !slices.IsSorted(g.names) {
		t.Errorf("paintGallery() names = %v, want the %d pictures, sorted", g.names, len(pictures))
	}
	for _, name := range g.names {
		file, err := g.file(name)
		if err != nil {
			t.Fatalf("file(%q) error: %v", name, err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("file(%q) is not a PNG: %v", name, err)
		}
		if cfg.Width != imageSize || cfg.Height != imageSize {
			t.Errorf("file(%q) is %dx%d, want %dx%d", name, cfg.Width, cfg.Height, imageSize, imageSize)
		}
	}
	if _, err := g.file("nope.png"); !errors.Is(err, errUnknownImage) {
		t.Errorf("file(%q) error = %v, want %v", "nope.png", err, errUnknownImage)
	}
}

func TestNameFor(t *testing.T) {
	g := testGallery(t)
	n := uint64(len(g.names))
	tests := []struct {
		id   uint64
		want string
	}{
		{0, g.names[0]},
		{1, g.names[1]},
		{n, g.names[0]},
		{n + 1, g.names[1]},
		{^uint64(0), g.names[^uint64(0)%n]}, // the largest id wraps like any other
	}
	for _, tt := range tests {
		if got := g.nameFor(tt.id); got != tt.want {
			t.Errorf("nameFor(%d) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  error
	}{
		{"", "sepia", nil},
		{"sepia", "sepia", nil},
		{"grayscale", "grayscale", nil},
		{"none", "none", nil},
		{"greyscale", "", errUnknownFilter},
		{" sepia", "", errUnknownFilter},
	}
	for _, tt := range tests {
		got, err := parseFilter(tt.in)
		if got.name != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("parseFilter(%q) = %q, %v, want %q, %v", tt.in, got.name, err, tt.want, tt.wantErr)
		}
	}
}

// TestFilterPixels checks the filters' arithmetic on single pixels, including a half
// transparent one: RGBA is premultiplied, so no channel may end above alpha.
func TestFilterPixels(t *testing.T) {
	tests := []struct {
		name  string
		apply func(*image.RGBA)
		in    color.RGBA
		want  color.RGBA
	}{
		{"sepia blue", sepia, color.RGBA{0, 0, 255, 255}, color.RGBA{48, 42, 33, 255}},
		{"sepia white saturates", sepia, color.RGBA{255, 255, 255, 255}, color.RGBA{255, 255, 238, 255}},
		{"sepia black stays", sepia, color.RGBA{0, 0, 0, 255}, color.RGBA{0, 0, 0, 255}},
		{"sepia capped at alpha", sepia, color.RGBA{128, 128, 128, 128}, color.RGBA{128, 128, 119, 128}},
		{"grayscale red", grayscale, color.RGBA{255, 0, 0, 255}, color.RGBA{76, 76, 76, 255}},
		{"grayscale green", grayscale, color.RGBA{0, 255, 0, 255}, color.RGBA{149, 149, 149, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Offset bounds: the filters must honour Rect.Min, not assume (0,0).
			img := image.NewRGBA(image.Rect(5, 7, 8, 9))
			for y := 7; y < 9; y++ {
				for x := 5; x < 8; x++ {
					img.SetRGBA(x, y, tt.in)
				}
			}
			tt.apply(img)
			for y := 7; y < 9; y++ {
				for x := 5; x < 8; x++ {
					if got := img.RGBAAt(x, y); got != tt.want {
						t.Fatalf("%s of %v at (%d,%d) = %v, want %v", tt.name, tt.in, x, y, got, tt.want)
					}
				}
			}
		})
	}
}
