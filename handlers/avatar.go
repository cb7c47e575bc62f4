package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"tally/importer"
	"tally/models"
	"tally/views"
)

// appBodyLimit is the largest request body the server reads: the largest upload (a bank file)
// plus room for the multipart framing and the other fields. fasthttp reads a whole body before
// any handler runs, so this limit is what bounds the memory an upload can take; each handler
// then refuses a file over its own limit (models.MaxAvatarBytes for a picture).
const appBodyLimit = importer.MaxBytes + 64<<10

var errAvatarTooLarge = fiber.NewError(fiber.StatusRequestEntityTooLarge,
	"This picture is larger than 2 MiB. Choose a smaller one, or make it smaller first.")

// avatarURL is the address of u's picture (uploaded or default) with its version in the
// query, so a changed picture is a new URL; has reports an uploaded picture.
func (h *Handlers) avatarURL(u *models.User) (url string, has bool, err error) {
	etag, err := models.AvatarVersion(h.db, u.ID)
	if err != nil {
		return "", false, err
	}
	has = etag != ""
	if !has {
		etag, _ = defaultAvatar(u)
	}
	return fmt.Sprintf("/avatars/%d?v=%s", u.ID, etag), has, nil
}

// avatarColours are dark enough for white initials (contrast at least 4.5:1).
var avatarColours = []string{"#1f6f5c", "#2d5a8c", "#7a3e9d", "#a4262c", "#8a5a00", "#3d6b21", "#5b6661", "#b03a74"}

// defaultAvatar renders the initials picture of u and its ETag.
func defaultAvatar(u *models.User) (etag string, svg []byte) {
	var buf bytes.Buffer
	colour := avatarColours[u.ID%uint(len(avatarColours))]
	// Rendering to a buffer cannot fail.
	_ = views.DefaultAvatar(models.Initials(u), colour).Render(context.Background(), &buf)
	sum := sha256.Sum256(buf.Bytes())
	return "d" + hex.EncodeToString(sum[:8]), buf.Bytes()
}

// Avatar serves a user's picture to that user and to staff; to anyone else it does not exist.
// A request naming the current version may be cached for good; any other must revalidate.
func (h *Handlers) Avatar(c *fiber.Ctx) error {
	id, err := strconv.ParseUint(c.Params("id"), 10, 32)
	viewer := currentUser(c)
	if err != nil || (uint(id) != viewer.ID && !viewer.IsAdmin()) {
		return fiber.ErrNotFound
	}
	owner := viewer
	if uint(id) != viewer.ID {
		if owner, err = models.FindUser(h.db, uint(id)); err != nil {
			return err
		}
	}
	a, err := models.FindAvatar(h.db, owner.ID)
	var etag, ctype string
	var body []byte
	switch {
	case err == nil:
		etag, ctype, body = a.ETag, a.ContentType, a.Data
	case errors.Is(err, models.ErrNotFound):
		etag, body = defaultAvatar(owner)
		ctype = "image/svg+xml"
		// An SVG is a document: opened on its own, this one may run and load nothing. It needs
		// no style-src: presentation attributes are not styles.
		c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	default:
		return err
	}
	c.Set(fiber.HeaderContentType, ctype)
	c.Set(fiber.HeaderETag, `"`+etag+`"`)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderContentDisposition, "inline")
	// Only the owner and staff may see it: browsers may keep it, shared caches may not.
	if c.Query("v") == etag {
		c.Set(fiber.HeaderCacheControl, "private, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "private, no-cache")
	}
	c.Vary(fiber.HeaderCookie)
	if c.Get(fiber.HeaderIfNoneMatch) == `"`+etag+`"` {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Send(body)
}

// UploadAvatar replaces the picture with the uploaded file, re-encoded.
func (h *Handlers) UploadAvatar(c *fiber.Ctx) error {
	u := currentUser(c)
	var af views.AvatarForm
	data, err := avatarUpload(c)
	if err == nil {
		var ctype string
		if data, ctype, err = models.ProcessAvatar(data); err == nil {
			_, err = models.SaveAvatar(h.db, u.ID, ctype, data, h.now())
		}
	}
	var ie models.ImageError
	switch {
	case errors.As(err, &ie):
		af.AddError("avatar", ie.Error())
	case err != nil:
		return err
	}
	return h.avatarDone(c, af, "Your picture has been updated.")
}

// avatarUpload returns the file of the "avatar" field, refusing one over the size limit.
func avatarUpload(c *fiber.Ctx) ([]byte, error) {
	fh, err := c.FormFile("avatar")
	if err != nil {
		return nil, models.ImageError("Choose a picture to upload.")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, models.MaxAvatarBytes+1))
	if err == nil && len(data) > models.MaxAvatarBytes {
		return nil, errAvatarTooLarge
	}
	return data, err
}

// RemoveAvatar goes back to the initials picture.
func (h *Handlers) RemoveAvatar(c *fiber.Ctx) error {
	if err := models.DeleteAvatar(h.db, currentUser(c).ID); err != nil {
		return err
	}
	return h.avatarDone(c, views.AvatarForm{}, "Your picture has been removed.")
}

// avatarDone answers an avatar form: the section for htmx (422 with the error beside the file
// field), else the profile page with the error or a redirect with msg.
func (h *Handlers) avatarDone(c *fiber.Ctx, af views.AvatarForm, msg string) error {
	status := fiber.StatusOK
	if !af.Valid() {
		status = fiber.StatusUnprocessableEntity
	} else if !isHTMX(c) {
		h.flash(c, msg)
		return h.redirect(c, "/profile")
	}
	d, err := h.profileData(currentUser(c))
	if err != nil {
		return err
	}
	return h.render(c, page{Title: "Your profile", Status: status,
		Body: views.ProfilePage(d, af), Fragment: views.AvatarSection(d, af)})
}
