"""How many bytes a matrix takes in bitsandbytes' NF4 format, and the shapes of its parts.

One record describes the format (block sizes, double quantization); :meth:`Nf4Layout.parts`
gives the shape and dtype of every stored tensor for an ``(out, in)`` matrix. The memory estimate
and :class:`~glmv_ui.quant.experts.Experts4bit` both read it, so the figure the panel shows and
the bytes a loaded model holds come from one description. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NF4", "Nf4Layout", "Part"]


@dataclass(frozen=True)
class Part:
    """One stored tensor of a quantized matrix: its shape and element type."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # "uint8" or "float32"

    @property
    def nbytes(self) -> int:
        count = 1
        for n in self.shape:
            count *= n
        return count * (1 if self.dtype == "uint8" else 4)


@dataclass(frozen=True)
class Nf4Layout:
    """bitsandbytes' blockwise 4-bit format.

    Each block of ``blocksize`` weights shares one scale (its absolute maximum). With
    ``double_quant`` the scales are themselves stored in 8 bits, in blocks of
    ``nested_blocksize`` with one float32 scale each and one float32 offset per matrix, which
    is what ``BitsAndBytesConfig(bnb_4bit_use_double_quant=True)`` does to ``Linear`` layers.
    """

    blocksize: int = 64
    double_quant: bool = True
    nested_blocksize: int = 256  # fixed by bitsandbytes for the nested scales
    quant_type: str = "nf4"
    codebook: int = 16  # float32 values of the 4-bit code
    nested_codebook: int = 256  # float32 values of the 8-bit code of the nested scales

    def blocks(self, numel: int) -> int:
        return -(-numel // self.blocksize)

    def parts(self, rows: int, cols: int, count: int = 1) -> tuple[Part, ...]:
        """The tensors holding ``count`` matrices of ``rows x cols`` (one row of each per
        matrix), without the two codebooks, which a module stores once."""
        numel = rows * cols
        if numel % 2:
            raise ValueError(f"a {rows}x{cols} matrix has an odd number of weights")
        blocks = self.blocks(numel)
        if not self.double_quant:
            return (
                Part("packed", (count, numel // 2), "uint8"),
                Part("absmax", (count, blocks), "float32"),
            )
        nested = -(-blocks // self.nested_blocksize)
        return (
            Part("packed", (count, numel // 2), "uint8"),
            Part("absmax", (count, blocks), "uint8"),
            Part("nested_absmax", (count, nested), "float32"),
            Part("offset", (count,), "float32"),
        )

    def matrix_bytes(self, rows: int, cols: int, count: int = 1) -> int:
        return sum(p.nbytes for p in self.parts(rows, cols, count))

    @property
    def codebook_bytes(self) -> int:
        return 4 * (self.codebook + (self.nested_codebook if self.double_quant else 0))

    @property
    def bytes_per_weight(self) -> float:
        """Bytes per weight for a large matrix (block counts divide exactly)."""
        per_block = 1.0 if self.double_quant else 4.0
        nested = 4.0 / (self.blocksize * self.nested_blocksize) if self.double_quant else 0.0
        return 0.5 + per_block / self.blocksize + nested


NF4 = Nf4Layout()
"""The format this project loads 4-bit models in: NF4, blocks of 64, double quantization."""
