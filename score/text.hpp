// text.hpp — message text built piece by piece. Why not operator+: GCC 12 warns (-Wrestrict, a
// false positive, fatal under -Werror in Release builds) on "literal" + std::string&&.
#pragma once

#include <string>
#include <string_view>

namespace predictd::score {

template <typename... Parts>
std::string concat(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

}  // namespace predictd::score
