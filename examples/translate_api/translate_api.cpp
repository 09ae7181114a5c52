// translate_api CHECKPOINT [BEAM] < lines: translates stdin line by line with
// xseq::Translator and prints one translation per line, exactly what
// `xseq translate --checkpoint CHECKPOINT [--beam BEAM]` prints.
#include <decode/translator.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: translate_api CHECKPOINT [BEAM] < lines\n");
    return 2;
  }
  try {
    xseq::TranslatorOptions options;  // the defaults of `xseq translate`
    if (argc == 3) options.beam = std::stoll(argv[2]);
    const xseq::Translator translator(argv[1], options);
    std::vector<std::string> lines;
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
    for (const xseq::Translation& t : translator.translate(lines)) std::printf("%s\n", t.text.c_str());
    return 0;
  } catch (const xseq::Error& e) {  // CheckpointError, OptionError, InputError, ...
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // std::stoll on a BEAM that is no number
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
