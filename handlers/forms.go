package handlers

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
)

// form is one posted field, copied (Fiber reuses its buffers after the handler returns).
func form(c *fiber.Ctx, name string) string {
	return utils.CopyString(c.FormValue(name))
}

// decodeForm is the one way a handler reads a posted form: it fills each field of the struct
// dst points to that has a `form:"name"` tag, from the url-encoded or multipart body.
//   - string fields get the value trimmed of surrounding space; `form:"name,raw"` keeps it as
//     sent (passwords: a space is part of one);
//   - []string fields get every value of a repeated field, trimmed, in order;
//   - bool fields are true for a checked checkbox ("on", "true" or "1").
//
// Embedded structs are filled too, so a handler can add its secret fields (never echoed back
// into a page) beside a view's form. Every value is copied. Parsing numbers, dates and amounts is validation, done by the caller so
// each error can be said beside its field.
func decodeForm(c *fiber.Ctx, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decodeForm: %T is not a pointer to a struct", dst)
	}
	return decodeFields(c, v.Elem())
}

// decodeFields fills the tagged fields of struct v, and those of the structs it embeds.
func decodeFields(c *fiber.Ctx, v reflect.Value) error {
	for i := 0; i < v.NumField(); i++ {
		sf := v.Type().Field(i)
		tag, ok := sf.Tag.Lookup("form")
		if !ok && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if err := decodeFields(c, v.Field(i)); err != nil {
				return err
			}
			continue
		}
		if !ok || tag == "-" {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		field := v.Field(i)
		switch field.Kind() {
		case reflect.String:
			s := form(c, name)
			if opt != "raw" {
				s = strings.TrimSpace(s)
			}
			field.SetString(s)
		case reflect.Bool:
			switch form(c, name) {
			case "on", "true", "1":
				field.SetBool(true)
			}
		case reflect.Slice:
			if field.Type().Elem().Kind() != reflect.String {
				return fmt.Errorf("decodeForm: field %s: only []string slices", v.Type().Field(i).Name)
			}
			values := formValues(c, name)
			out := reflect.MakeSlice(field.Type(), len(values), len(values))
			for j, s := range values {
				out.Index(j).SetString(strings.TrimSpace(s))
			}
			field.Set(out)
		default:
			return fmt.Errorf("decodeForm: field %s has kind %s", v.Type().Field(i).Name, field.Kind())
		}
	}
	return nil
}

// formValues is every value of a repeated field, copied.
func formValues(c *fiber.Ctx, name string) []string {
	var raw [][]byte
	if mf, err := c.MultipartForm(); err == nil && mf != nil {
		for _, s := range mf.Value[name] {
			raw = append(raw, []byte(s))
		}
	} else {
		raw = c.Request().PostArgs().PeekMulti(name)
	}
	out := make([]string, len(raw))
	for i, b := range raw {
		out[i] = string(b)
	}
	return out
}
