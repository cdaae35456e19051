// base64_decode.hpp — base64 text of one image → its raw bytes.
//
// Owns the leniency rules of the wire format (alphabets, padding, line wrapping, data: URLs)
// and the invalid_base64 errors. Knows nothing of images or JSON.
#pragma once

#include <string>
#include <string_view>

#include "api/api_error.hpp"

namespace predictd {

// Accepts the standard and the URL-safe alphabet (even mixed), missing '=' padding, embedded
// whitespace (as `base64` wraps at 76 columns) and a `data:<mime>;base64,` prefix.
// Errors: 400 invalid_base64 for an illegal character (with its offset in `text`), a length no
// base64 can have, misplaced padding, a non-base64 data: URL, or an empty result.
Result<std::string> decodeBase64(std::string_view text);

}  // namespace predictd
