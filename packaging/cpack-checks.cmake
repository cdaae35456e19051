# packaging/cpack-checks.cmake — read by cpack before it packages (CPACK_PROJECT_CONFIG_FILE):
# refuses a build tree whose install paths would be wrong in a Debian package.
if(NOT CPACK_PREDICTD_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR
          "predictd: this build tree is configured with CMAKE_INSTALL_PREFIX="
          "${CPACK_PREDICTD_INSTALL_PREFIX}; its settings, units and RUNPATH name that prefix's "
          "paths. Package from a tree configured with -DCMAKE_INSTALL_PREFIX=/usr "
          "(cmake -DCMAKE_INSTALL_PREFIX=/usr <build dir>, then build again).")
endif()
