"""DECP (données essentielles de la commande publique): readers and normalisation."""
