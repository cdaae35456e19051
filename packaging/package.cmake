# packaging/package.cmake — the Debian package (CPack's DEB generator), included by the top-level
# CMakeLists.txt after the install rules. Owns what only the package carries (the NGINX snippet
# and site in /etc/nginx, copyright, changelog, lintian overrides, maintainer scripts) and the
# package's control fields. Everything else in the .deb is the ordinary `cmake --install` tree:
# binary, ONNX Runtime, models, /etc/predictd, systemd units, NGINX files, OpenAPI document,
# manual page. Build it with `cmake --build <build> --target package` (or `cpack` in the build
# directory) from a tree configured with CMAKE_INSTALL_PREFIX=/usr (the default here).
# tests/package/deb-lintian runs lintian on it; tests/package/deb-chroot installs it into a fresh
# Debian 12 chroot and checks it.

set(PREDICTD_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
set(PREDICTD_PACKAGE_STAGING ${CMAKE_CURRENT_BINARY_DIR}/packaging)

# Files only the package installs, in a component of their own that `cmake --install` skips
# (EXCLUDE_FROM_ALL): the README's production install copies the NGINX files by hand instead.
# The site (/etc/nginx/sites-available/predictd) is installed, not enabled: Debian's default site
# holds port 80 too, and which one to serve is the administrator's choice (README).
install(FILES nginx/predictd-locations.conf DESTINATION /etc/nginx/snippets
        COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/installed/nginx/predictd.conf
        DESTINATION /etc/nginx/sites-available RENAME predictd COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES ${PREDICTD_PACKAGING_DIR}/debian/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME predictd
        COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES ${PREDICTD_PACKAGING_DIR}/debian/copyright README.md docs/design.md docs/models.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT debian EXCLUDE_FROM_ALL)

# Debian wants the changelog compressed with `gzip -9n` (no name, no time stamp: the same bytes
# on every build), like the manual page (CMakeLists.txt).
add_custom_command(OUTPUT ${PREDICTD_PACKAGE_STAGING}/changelog.gz
                   COMMAND ${PREDICTD_GZIP} -9n -c ${PREDICTD_PACKAGING_DIR}/debian/changelog
                           > ${PREDICTD_PACKAGE_STAGING}/changelog.gz
                   DEPENDS ${PREDICTD_PACKAGING_DIR}/debian/changelog VERBATIM)
add_custom_target(predictd_package_changelog ALL DEPENDS ${PREDICTD_PACKAGE_STAGING}/changelog.gz)
install(FILES ${PREDICTD_PACKAGE_STAGING}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT debian EXCLUDE_FROM_ALL)

# As dh_strip does: no .comment/.note sections in the binaries and in ONNX Runtime (CPack's
# CPACK_STRIP_FILES has already stripped the binaries' symbols and debug information).
install(CODE "set(PREDICTD_STRIP \"${CMAKE_STRIP}\")" COMPONENT debian EXCLUDE_FROM_ALL)
install(CODE [[
  file(GLOB elves "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/sbin/predictd"
                  "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/bin/predictd-score"
                  "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/*/predictd/libonnxruntime.so.*")
  foreach(elf IN LISTS elves)
    if(NOT IS_SYMLINK "${elf}")
      execute_process(COMMAND "${PREDICTD_STRIP}" --remove-section=.comment --remove-section=.note
                              "${elf}" COMMAND_ERROR_IS_FATAL ANY)
    endif()
  endforeach()
]] COMPONENT debian EXCLUDE_FROM_ALL)

# The changelog's newest entry must name the version being packaged.
file(STRINGS ${PREDICTD_PACKAGING_DIR}/debian/changelog PREDICTD_CHANGELOG_TOP LIMIT_COUNT 1)
if(NOT PREDICTD_CHANGELOG_TOP MATCHES "^predictd \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog starts with '${PREDICTD_CHANGELOG_TOP}': add an "
                      "entry for version ${PROJECT_VERSION} (project() in CMakeLists.txt)")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PREDICTD_PACKAGING_DIR}/debian/changelog)

# Maintainer scripts and conffiles (CONTROL_STRICT_PERMISSION below gives them the modes dpkg
# expects).
set(PREDICTD_CONTROL_EXTRA)
foreach(script postinst prerm postrm conffiles)
  file(COPY ${PREDICTD_PACKAGING_DIR}/debian/${script} DESTINATION ${PREDICTD_PACKAGE_STAGING}/control)
  list(APPEND PREDICTD_CONTROL_EXTRA ${PREDICTD_PACKAGE_STAGING}/control/${script})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${PREDICTD_PACKAGING_DIR}/debian/${script})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME predictd)
set(CPACK_PACKAGE_VENDOR "predictd")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "predictd maintainers <predictd@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "image-model prediction service: FastCGI workers behind NGINX")
# The synopsis is the summary above; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "predictd answers predictions of ONNX image models over HTTP: NGINX passes
requests over FastCGI to a pool of prefork workers, managed by one
supervisor process under systemd, that load every model of a model
repository once and answer JSON (native API, TF Serving REST and the Open
Inference Protocol v2).
.
The package ships the binary with its ONNX Runtime library, the MNIST digit
and MobileNetV2 photo models, the settings (/etc/predictd/predictd.ini),
the systemd service and socket units, and an NGINX snippet and site.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: the shared libraries the binary and ONNX Runtime link (libfcgi0ldbl, libpoco*,
# libjsoncpp25, libopencv-*, libsystemd0, libc6, libstdc++6 …) as dpkg-shlibdeps computes them
# with their minimum versions, plus adduser for postinst. ONNX Runtime is found in the package
# itself through the binary's $ORIGIN RUNPATH. NGINX is recommended, not required: predictd can
# serve a remote NGINX over tcp:.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PREDICTD_CONTROL_EXTRA}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Directories 0755 whatever the builder's umask; executables stripped (the debug information
# of a RelWithDebInfo build stays in the build tree).
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
    GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_STRIP_FILES TRUE)
# One package of both components: the ordinary install tree and the package's own files.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified debian)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# cpack refuses a tree configured for another prefix: its settings, units and RUNPATH name
# that prefix's paths (/usr/local/etc/predictd …), which would be wrong in a .deb.
set(CPACK_PREDICTD_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_PROJECT_CONFIG_FILE ${PREDICTD_PACKAGING_DIR}/cpack-checks.cmake)
include(CPack)
