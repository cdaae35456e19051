// request_limits.hpp — the per-request limits every stage enforces, with safe defaults.
//
// Filled from the [limits] section of predictd.ini (see config/predictd.ini); the defaults here
// are the documented defaults.
#pragma once

#include <cstddef>
#include <cstdint>

namespace predictd {

struct RequestLimits {
    std::size_t max_body_bytes = 8u << 20;           // whole request body (NGINX has its own too)
    std::size_t max_batch = 64;                      // members of "images"
    std::uint64_t max_image_pixels = 4096u * 4096u;  // width*height, checked from the header
};

}  // namespace predictd
