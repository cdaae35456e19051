// request_limits.hpp — the per-request limits every stage enforces, with safe defaults.
//
// Filled from the [limits] section of predictd.ini (see config/predictd.ini); the defaults here
// are the documented defaults. Each limit is enforced by the stage that first sees the thing it
// bounds, before any work proportional to it is done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace predictd {

struct RequestLimits {
    // Whole request body (NGINX has its own too). request_handler: 413 payload_too_large.
    std::size_t max_body_bytes = 8u << 20;
    // Members of "images". predict_request: 413 batch_too_large.
    std::size_t max_batch = 64;
    // width*height as it will be decoded (after a JPEG's shrink on load), checked from the image
    // header before decoding. image_decode (checkDecodedSize): 413 image_too_large.
    std::uint64_t max_image_pixels = std::uint64_t{4096} * 4096;
    // Nesting of JSON arrays and objects in the body ({"images": [...]} is 2). Checked by a
    // scan before jsoncpp parses anything, so a deep body costs no parser recursion or
    // allocation. predict_request: 400 json_too_deep. (jsoncpp's own stack limit, 1000, stays
    // as a backstop and answers invalid_json.)
    std::size_t max_json_depth = 16;
    // Length of one image's base64 text as sent (whitespace and a data: prefix included),
    // checked before it is decoded. predict_request: 413 image_too_large.
    std::size_t max_base64_bytes = 4u << 20;
    // Image formats accepted, by the names readImageHeader reports (kImageFormats in
    // image_header.hpp: png, jpeg, bmp, gif, webp, tiff, pnm). Decided from the header sniff
    // before anything is decoded. image_decode: 415 unsupported_image_format. GIF is left out
    // by default: OpenCV 4.6 cannot decode it. An empty list refuses every image.
    std::vector<std::string> allowed_formats = {"png", "jpeg", "bmp", "webp", "tiff", "pnm"};
    // Bytes of pixels all the images of one request may decode to, summed from their headers
    // before any is decoded (decode_plan.hpp: width × height × samples × bytes per sample, after
    // shrink-on-load). Worker time follows it; the size of the body does not (a 1 KB WebP can
    // decode to 64 MB). request_handler: 413 decode_budget_exceeded.
    std::uint64_t max_decode_bytes = std::uint64_t{64} << 20;
    // Seconds a request may take from NGINX's receipt (time queued for a worker included); past
    // it the worker abandons the request between images or before inference and answers 503
    // deadline_exceeded with Retry-After. Below NGINX's fastcgi_read_timeout (25 s) so the
    // client gets the JSON answer, and below server.timeout (30 s) so no worker is killed for an
    // expensive request. 0 = no deadline.
    double request_deadline = 20.0;
};

}  // namespace predictd
