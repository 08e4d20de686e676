package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strings"
)

// AccountImage is what GET /accounts/{id} answers: where the account's picture is.
type AccountImage struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	ServedBy string `json:"servedBy"`
}

// imageSize is the width and height of every picture: big enough that filtering and
// encoding show up in a trace, small enough to cost a few milliseconds a request.
const imageSize = 256

var errUnknownImage = errors.New("no image by that name")

// gallery holds the service's pictures as PNG files in memory. They are painted once at
// startup, so the service reads no disk and no network, and every request decodes its
// file the way a service that read it from disk would: the trace shows that step too.
type gallery struct {
	names []string          // sorted, so an account keeps its picture from one run to the next
	files map[string][]byte // PNG bytes by name
}

// painter gives the colour of one pixel of a picture.
type painter func(x, y int) color.RGBA

// pictures are the gallery's contents. Each is colourful on purpose: a sepia or grayscale
// filter then visibly changes it.
var pictures = map[string]painter{
	"sunset.png":       paintSunset,
	"landscape.png":    paintLandscape,
	"checkerboard.png": paintCheckerboard,
	"circles.png":      paintCircles,
	"rainbow.png":      paintRainbow,
}

// paintGallery paints and encodes every picture. It takes some tens of milliseconds, once.
func paintGallery() (*gallery, error) {
	g := &gallery{files: make(map[string][]byte, len(pictures))}
	for name, paint := range pictures {
		img := image.NewRGBA(image.Rect(0, 0, imageSize, imageSize))
		for y := range imageSize {
			for x := range imageSize {
				img.SetRGBA(x, y, paint(x, y))
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("paint %s: %w", name, err)
		}
		g.names = append(g.names, name)
		g.files[name] = buf.Bytes()
	}
	slices.Sort(g.names)
	return g, nil
}

// file returns the PNG bytes of the named picture, or errUnknownImage.
func (g *gallery) file(name string) ([]byte, error) {
	b, ok := g.files[name]
	if !ok {
		return nil, errUnknownImage
	}
	return b, nil
}

// nameFor picks an account's picture: the same id always gets the same one.
func (g *gallery) nameFor(accountID uint64) string {
	return g.names[accountID%uint64(len(g.names))]
}

// list names the pictures, for the error that answers an unknown name.
func (g *gallery) list() string { return strings.Join(g.names, ", ") }

// The painters below are plain functions of (x, y); none of them is clever, they only
// need to be recognisable and to have colour for the filters to take away.

func paintSunset(x, y int) color.RGBA {
	const horizon, sunX, sunY, sunR = 170, 128, 165, 42
	if y >= horizon {
		// Sea, with the sun's reflection in a few broken stripes under it.
		sea := mix(rgb(20, 30, 90), rgb(5, 10, 40), float64(y-horizon)/float64(imageSize-horizon))
		if abs(x-sunX) < sunR-(y-horizon)/2 && (y/4)%2 == 0 {
			return mix(sea, rgb(255, 170, 60), 0.6)
		}
		return sea
	}
	if d := dist(x, y, sunX, sunY); d < sunR {
		return mix(rgb(255, 240, 120), rgb(255, 140, 40), d/sunR)
	}
	return mix(rgb(70, 20, 110), rgb(255, 110, 50), float64(y)/horizon)
}

func paintLandscape(x, y int) color.RGBA {
	fx := float64(x)
	far := 120 + 25*math.Sin(fx/40) + 8*math.Sin(fx/13)
	near := 175 + 18*math.Sin(fx/55+2) + 6*math.Sin(fx/9)
	switch {
	case float64(y) > near:
		return mix(rgb(60, 160, 50), rgb(20, 80, 20), (float64(y)-near)/(imageSize-near))
	case float64(y) > far:
		return mix(rgb(90, 120, 160), rgb(60, 110, 90), (float64(y)-far)/(near-far+1))
	case dist(x, y, 200, 50) < 22:
		return rgb(255, 230, 90)
	default:
		return mix(rgb(40, 110, 220), rgb(170, 210, 250), float64(y)/far)
	}
}

func paintCheckerboard(x, y int) color.RGBA {
	const square = 32
	col, row := x/square, y/square
	if (col+row)%2 == 0 {
		return rgb(240, 240, 235)
	}
	return hue(float64(col*8+row) / 64)
}

func paintCircles(x, y int) color.RGBA {
	d := dist(x, y, imageSize/2, imageSize/2)
	ring := int(d / 16)
	if ring%2 == 1 {
		return rgb(25, 25, 35)
	}
	return hue(d / (imageSize * 0.75))
}

func paintRainbow(x, y int) color.RGBA {
	return mix(hue(float64(x)/imageSize), rgb(255, 255, 255), float64(y)/(2*imageSize))
}

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }

// mix blends a into b: t=0 is a, t=1 is b.
func mix(a, b color.RGBA, t float64) color.RGBA {
	t = min(max(t, 0), 1)
	lerp := func(p, q uint8) uint8 { return uint8(math.Round(float64(p)*(1-t) + float64(q)*t)) }
	return rgb(lerp(a.R, b.R), lerp(a.G, b.G), lerp(a.B, b.B))
}

// hue is the fully saturated colour at h around the colour wheel (0 and 1 are red).
func hue(h float64) color.RGBA {
	h = (h - math.Floor(h)) * 6
	f := h - math.Floor(h)
	up, down := uint8(255*f), uint8(255*(1-f))
	switch int(h) {
	case 0:
		return rgb(255, up, 0)
	case 1:
		return rgb(down, 255, 0)
	case 2:
		return rgb(0, 255, up)
	case 3:
		return rgb(0, down, 255)
	case 4:
		return rgb(up, 0, 255)
	default:
		return rgb(255, 0, down)
	}
}

func dist(x, y, cx, cy int) float64 { return math.Hypot(float64(x-cx), float64(y-cy)) }

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
