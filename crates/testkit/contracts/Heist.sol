// SPDX-License-Identifier: MIT
// Contracts for Sleuth's EVM tests, compiled by solc-js and deployed on a real Anvil node:
// an ERC-20 token, a router that fans value out by internal calls, a Tornado-style mixer,
// a contract that reverts, and a factory whose child is created and destroyed.
pragma solidity ^0.8.20;

/// A plain ERC-20 (EIP-20): the whole supply to the deployer.
contract Token {
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 a = allowance[from][msg.sender];
        require(a >= value, "allowance");
        allowance[from][msg.sender] = a - value;
        _move(from, to, value);
        return true;
    }

    function burn(uint256 value) external {
        _move(msg.sender, address(0), value);
        totalSupply -= value;
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// Always refuses: a call into it reverts.
contract Refuser {
    receive() external payable {
        revert("refused");
    }
}

/// Passes what it is paid on to `to`, then reverts: the inner payment succeeded, but inside
/// a frame that reverted, so it moved nothing.
contract Bouncer {
    address payable public to;

    constructor(address payable to_) {
        to = to_;
    }

    receive() external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward");
        revert("bounced");
    }
}

/// Splits value across many accounts in one transaction, by internal CALLs.
contract Router {
    function fanOut(address payable[] calldata to, uint256[] calldata amounts) external payable {
        require(to.length == amounts.length, "lengths");
        uint256 total;
        for (uint256 i = 0; i < to.length; i++) {
            total += amounts[i];
            (bool ok, ) = to[i].call{value: amounts[i]}("");
            require(ok, "payment failed");
        }
        require(total == msg.value, "total");
    }

    function fanOutToken(Token token, address[] calldata to, uint256[] calldata amounts) external {
        for (uint256 i = 0; i < to.length; i++) {
            require(token.transferFrom(msg.sender, to[i], amounts[i]), "token");
        }
    }

    /// Tries to pay `first`; when that call reverts (its frame is undone), pays `fallbackTo`.
    function payOrElse(address payable first, address payable fallbackTo) external payable {
        (bool ok, ) = first.call{value: msg.value}("");
        if (!ok) {
            (bool ok2, ) = fallbackTo.call{value: msg.value}("");
            require(ok2, "fallback failed");
        }
    }
}

/// A Tornado-style mixer: fixed-denomination deposits under a commitment, withdrawn to any
/// account by whoever knows the secret (Tornado proves it in zero knowledge; this one just
/// reveals it, which changes nothing in how value moves on chain).
contract Mixer {
    uint256 public immutable denomination;
    mapping(bytes32 => bool) public commitments;
    mapping(bytes32 => bool) public spent;

    event Deposit(bytes32 indexed commitment, uint256 timestamp);
    event Withdrawal(address to, bytes32 nullifierHash);

    constructor(uint256 denomination_) {
        denomination = denomination_;
    }

    function deposit(bytes32 commitment) external payable {
        require(msg.value == denomination, "denomination");
        require(!commitments[commitment], "used");
        commitments[commitment] = true;
        emit Deposit(commitment, block.timestamp);
    }

    function withdraw(bytes32 secret, address payable to) external {
        bytes32 c = keccak256(abi.encodePacked(secret));
        require(commitments[c] && !spent[c], "unknown note");
        spent[c] = true;
        (bool ok, ) = to.call{value: denomination}("");
        require(ok, "payout");
        emit Withdrawal(to, c);
    }
}

/// A child made with value and destroyed in the same transaction (EIP-6780: only then does
/// SELFDESTRUCT still delete the account).
contract Ephemeral {
    constructor() payable {}

    function destroy(address payable to) external {
        selfdestruct(to);
    }
}

contract Factory {
    event Made(address child);

    function makeAndDestroy(address payable to) external payable returns (address) {
        Ephemeral e = new Ephemeral{value: msg.value}();
        emit Made(address(e));
        e.destroy(to);
        return address(e);
    }
}

/// SELFDESTRUCT naming the contract itself: made with `now_` it destroys itself in its
/// constructor (the balance is burnt); otherwise `vanish` does it later, which before Cancun
/// burns the balance and after it (EIP-6780) leaves the contract and its balance.
contract SelfPayer {
    constructor(bool now_) payable {
        if (now_) {
            selfdestruct(payable(address(this)));
        }
    }

    function vanish() external {
        selfdestruct(payable(address(this)));
    }
}
